// Kubernetes Events on Sites (events.k8s.io/v1). A repeat of the same event becomes a count on
// the first one (its series), as client-go's recorder does, so a failing Site does not flood etcd.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node's models are classes only for its serializer, which reads plain objects as well. */
import { randomBytes } from 'node:crypto';
import { V1MicroTime, type EventsV1Api } from '@kubernetes/client-node';
import { SITE_API_VERSION, SITE_KIND, type Logger } from '@telemetrypulse/shared';
import { kubeError, mergePatch } from '../runtime/kube.ts';
import type { Reason } from './reasons.ts';

export const REPORTING_CONTROLLER = 'telemetrypulse.io/operator';
const REMEMBERED_PER_SITE = 16;
const NOTE_MAX = 1000;

export interface SiteRef {
  name: string;
  namespace: string;
  uid: string;
}

/** What the operator did: read the spec, apply the Deployment, write the sites registry. */
export type EventAction = 'Validate' | 'Apply' | 'SyncRegistry';

export interface SiteEvent {
  type: 'Normal' | 'Warning';
  reason: Reason;
  action: EventAction;
  note: string;
}

interface Emitted {
  name: string;
  count: number;
}

export class EventRecorder {
  readonly #api: EventsV1Api;
  readonly #instance: string;
  readonly #logger: Logger;
  /** Per Site (namespace/name), the events already emitted, by content. */
  readonly #emitted = new Map<string, Map<string, Emitted>>();

  constructor(api: EventsV1Api, instance: string, logger: Logger) {
    this.#api = api;
    this.#instance = instance.slice(0, 128);
    this.#logger = logger;
  }

  /** Records the event; never throws (an event is worth less than the reconcile it reports). */
  async record(site: SiteRef, event: SiteEvent): Promise<void> {
    const note = event.note.slice(0, NOTE_MAX);
    const key = `${site.uid}\n${event.type}\n${event.reason}\n${event.action}\n${note}`;
    const siteKey = `${site.namespace}/${site.name}`;
    let seen = this.#emitted.get(siteKey);
    if (!seen) {
      seen = new Map();
      this.#emitted.set(siteKey, seen);
    }
    try {
      const earlier = seen.get(key);
      if (earlier) {
        earlier.count += 1;
        await this.#api.patchNamespacedEvent(
          {
            name: earlier.name,
            namespace: site.namespace,
            body: { series: { count: earlier.count, lastObservedTime: new V1MicroTime() } },
          },
          mergePatch,
        );
        return;
      }
      const name = `${site.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
      await this.#api.createNamespacedEvent({
        namespace: site.namespace,
        body: {
          metadata: { name, namespace: site.namespace },
          eventTime: new V1MicroTime(),
          reportingController: REPORTING_CONTROLLER,
          reportingInstance: this.#instance,
          action: event.action,
          reason: event.reason,
          note,
          type: event.type,
          regarding: {
            apiVersion: SITE_API_VERSION,
            kind: SITE_KIND,
            name: site.name,
            namespace: site.namespace,
            uid: site.uid,
          },
        },
      });
      seen.set(key, { name, count: 1 });
      if (seen.size > REMEMBERED_PER_SITE) {
        const oldest = seen.keys().next().value;
        if (oldest !== undefined) seen.delete(oldest);
      }
    } catch (error) {
      // The event may have expired (1 h TTL): start a new one next time.
      seen.delete(key);
      this.#logger.warn(
        { err: kubeError(error), site: site.name, reason: event.reason },
        'event not recorded',
      );
    }
  }

  /** The Site is gone: its events are no longer continued. */
  forget(siteKey: string): void {
    this.#emitted.delete(siteKey);
  }
}
