import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { issueCertificate, newKeyPair } from '../../src/kube/x509.ts';

describe('x509 certificates', () => {
  const caKeys = newKeyPair();
  const caSubject = { commonName: 'test-ca' };
  const issuer = { subject: caSubject, privateKey: caKeys.privateKey };
  const ca = new X509Certificate(
    issueCertificate({ subject: caSubject, publicKey: caKeys.publicKey, isCa: true }, issuer),
  );

  it('when a CA is issued, then it is self-signed and marked as a CA', () => {
    assert.equal(ca.ca, true);
    assert.equal(ca.subject, 'CN=test-ca');
    assert.ok(ca.verify(caKeys.publicKey));
    assert.ok(ca.checkIssued(ca));
  });

  it('when a server certificate is issued, then the CA signed it for its names and addresses', () => {
    const keys = newKeyPair();
    const cert = new X509Certificate(
      issueCertificate(
        {
          subject: { commonName: 'kube-apiserver' },
          publicKey: keys.publicKey,
          usages: ['serverAuth'],
          altNames: ['127.0.0.1', 'localhost', 'kubernetes.default.svc'],
        },
        issuer,
      ),
    );
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(ca));
    assert.ok(cert.verify(caKeys.publicKey));
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkHost('kubernetes.default.svc'), 'kubernetes.default.svc');
    assert.equal(cert.checkHost('example.com'), undefined);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.ok(cert.publicKey.equals(keys.publicKey));
  });

  it('when a client certificate names groups, then they are its organizations', () => {
    const keys = newKeyPair();
    const cert = new X509Certificate(
      issueCertificate(
        {
          subject: { commonName: 'admin', organizations: ['system:masters'] },
          publicKey: keys.publicKey,
          usages: ['clientAuth'],
        },
        issuer,
      ),
    );
    assert.equal(cert.subject, 'O=system:masters\nCN=admin');
    assert.equal(cert.issuer, 'CN=test-ca');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  });

  it('when another CA checks the certificate, then it is not accepted', () => {
    const otherKeys = newKeyPair();
    const keys = newKeyPair();
    const cert = new X509Certificate(
      issueCertificate({ subject: { commonName: 'x' }, publicKey: keys.publicKey }, issuer),
    );
    assert.equal(cert.verify(otherKeys.publicKey), false);
  });
});
