// Jobs in words (web-console/src/lib/job-text.ts): the new-job form's device count says
// what is missing, why the hub would not count, or why none matches, never a bare "…";
// a job names its image by model and version, not by id.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobWhat, previewText } from '../src/lib/job-text.ts';

describe('the new-job form’s device count', () => {
  it('asks for an image before an update can be counted', () => {
    assert.match(previewText(undefined, null), /^Choose an image to count the devices/);
  });

  it('says it is counting, then the count', () => {
    assert.equal(previewText(undefined, undefined), 'Counting the devices…');
    assert.equal(previewText({ count: 3, online: 1 }, undefined), '3 devices (1 online now)');
    assert.equal(previewText({ count: 1, online: 0 }, { model: 'relay', version: '5.0.0' }), '1 device (0 online now)');
  });

  it('shows the hub’s refusal in words', () => {
    assert.equal(
      previewText({ error: 'selection.model: the image is for model "relay"' }, undefined),
      'Cannot count the devices: selection.model: the image is for model "relay"',
    );
  });

  it('explains an empty selection, by the image’s model for an update', () => {
    assert.match(previewText({ count: 0, online: 0 }, undefined), /^0 devices \(0 online now\): none matches now; devices that join/);
    assert.match(
      previewText({ count: 0, online: 0 }, { model: 'relay', version: '5.0.0' }),
      /none of model relay matches now \(those already on 5\.0\.0 are left out\)/,
    );
  });
});

describe('what a job does', () => {
  it('names an update’s image by model and version', () => {
    assert.equal(
      jobWhat({ action: { type: 'update', firmware: 'fw-0011' }, selection: { model: 'relay' }, target: '5.0.0' }),
      'update to relay 5.0.0',
    );
    assert.equal(jobWhat({ action: { type: 'update', firmware: 'fw-0011' }, selection: {} }), 'update to fw-0011');
    assert.equal(jobWhat({ action: { type: 'command', name: 'flush' }, selection: {} }), 'command flush');
    assert.equal(jobWhat({ action: { type: 'desired' }, selection: {} }), 'desired patch');
  });
});
