import assert from 'node:assert/strict';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { MultilineText, Text } from '../../src/schemas.ts';

describe('text schemas', () => {
  const text = TypeCompiler.Compile(Text({ maxLength: 50 }));
  const multiline = TypeCompiler.Compile(MultilineText({ maxLength: 50 }));

  it('when text holds a control character (NUL first), then both text schemas refuse it', () => {
    for (const value of [
      'a\u0000b',
      '\u0000',
      'x\u0007',
      'esc\u001b[0m',
      'del\u007f',
      'c1\u0085',
    ]) {
      assert.equal(text.Check(value), false, JSON.stringify(value));
      assert.equal(multiline.Check(value), false, JSON.stringify(value));
    }
  });

  it('when text is printable, in any script, then both take it', () => {
    for (const value of ['alice', 'Zoë Müller', '王小明', 'ops-team@example.com', 'üñí ✓ 🚀', '']) {
      assert.equal(text.Check(value), true, value);
      assert.equal(multiline.Check(value), true, value);
    }
  });

  it('when text runs over lines or holds tabs, then only the multiline schema takes it', () => {
    for (const value of ['line 1\nline 2', 'a\tb', 'windows\r\nline']) {
      assert.equal(text.Check(value), false, JSON.stringify(value));
      assert.equal(multiline.Check(value), true, JSON.stringify(value));
    }
  });
});
