// Model profiles' use cases: read one (an empty profile for a model nobody has
// described), list them, replace one, remove one. What a profile holds is in README.md § HTTP API.

import type { ModelProfile, ModelProfileDoc } from '@halyard/firmware-protocol';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { ModelProfileRecord } from '../store/model-profiles.js';
import type { Store } from '../store/store.js';

/** Model profiles kept at most: each may be up to the request body limit, and GET /models lists them all. */
export const MAX_MODEL_PROFILES = 100;

const EMPTY: ModelProfileDoc = Object.freeze({ commands: [], metrics: [], desired: [] }) as ModelProfileDoc;

function toProfile(model: string, r: ModelProfileRecord | undefined): ModelProfile {
  if (r === undefined) return { model, ...EMPTY, updatedAt: null, updatedBy: null };
  return { model, ...r.doc, updatedAt: r.updatedAt, updatedBy: r.updatedBy };
}

export class ModelProfileService {
  constructor(
    private readonly store: Pick<Store, 'op' | 'getModelProfile' | 'listModelProfiles'>,
    private readonly audit: Audit,
  ) {}

  async list(): Promise<ModelProfile[]> {
    return (await this.store.listModelProfiles()).map((r) => toProfile(r.model, r));
  }

  async get(model: string): Promise<ModelProfile> {
    return toProfile(model, await this.store.getModelProfile(model));
  }

  async put(requester: Requester, model: string, doc: ModelProfileDoc): Promise<ModelProfile> {
    const stored = await this.store.op('putModelProfile', {
      model,
      // Only the three lists are kept, in this key order, whatever the caller sent.
      doc: { commands: doc.commands, metrics: doc.metrics, desired: doc.desired },
      updatedAt: Date.now(),
      updatedBy: requester.actor,
      max: MAX_MODEL_PROFILES,
    });
    await this.audit(
      requester.actor,
      'model.profile',
      model,
      viaDetail(requester, { commands: doc.commands.length, metrics: doc.metrics.length, desired: doc.desired.length }),
    );
    return toProfile(model, stored);
  }

  /** Removes a model's profile: the model reads as empty again, and its slot under the cap is free. */
  async remove(requester: Requester, model: string): Promise<void> {
    if (!(await this.store.op('deleteModelProfile', { model })))
      throw new HubError(HubErrorCode.NotFound, `model "${model}" has no profile`);
    await this.audit(requester.actor, 'model.profile.delete', model, viaDetail(requester, {}));
  }
}
