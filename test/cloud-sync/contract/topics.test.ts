import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError } from '../../../cloud-sync/contract/errors.js';
import {
  CHANNELS,
  aclFor,
  ackTopic,
  allGatewaysFilter,
  commandTopic,
  configTopic,
  eventsTopic,
  isGatewayId,
  mayPublish,
  maySubscribe,
  parseTopic,
  statusTopic,
  topicFor,
} from '../../../cloud-sync/contract/topics.js';

describe('topics', () => {
  it('builds every topic under kerbside/v1/{gatewayId}/', () => {
    assert.equal(eventsTopic('cab-12'), 'kerbside/v1/cab-12/up/events');
    assert.equal(ackTopic('cab-12'), 'kerbside/v1/cab-12/down/ack');
    assert.equal(statusTopic('cab-12'), 'kerbside/v1/cab-12/up/status');
    assert.equal(commandTopic('cab-12'), 'kerbside/v1/cab-12/down/cmd');
    assert.equal(configTopic('cab-12'), 'kerbside/v1/cab-12/down/config');
    assert.equal(allGatewaysFilter('up/events'), 'kerbside/v1/+/up/events');
    assert.deepEqual(aclFor('cab-12'), {
      publish: ['kerbside/v1/cab-12/up/events', 'kerbside/v1/cab-12/up/status'],
      subscribe: 'kerbside/v1/cab-12/down/#',
    });
  });

  it('parses what it builds, and nothing else', () => {
    for (const channel of CHANNELS) {
      assert.deepEqual(parseTopic(topicFor('gw-1', channel)), { gatewayId: 'gw-1', channel });
    }
    for (const topic of [
      'kerbside/v2/gw-1/up/events',
      'kerbside/v1/gw-1/up/other',
      'kerbside/v1/gw-1/up/events/x',
      'kerbside/v1/+/up/events',
      'kerbside/v1/GW/up/events',
      'kerbside/v1/gw-1',
      '',
    ]) {
      assert.equal(parseTopic(topic), null, topic);
    }
  });

  it('accepts only gateway ids that are one safe topic level', () => {
    for (const good of ['cab-12', 'g1', 'a'.repeat(63)]) assert.equal(isGatewayId(good), true, good);
    for (const bad of [
      '',
      'a',
      'a'.repeat(64),
      'gw+1',
      'gw#',
      'gw/1',
      '+',
      '#',
      '-gw',
      'Cab',
      'gw 1',
      'gw\u00001',
    ]) {
      assert.equal(isGatewayId(bad), false, JSON.stringify(bad));
    }
  });

  it('throws ContractError when asked to build a topic for an invalid id (programmer misuse)', () => {
    assert.throws(
      () => eventsTopic('+'),
      (error: unknown) => error instanceof ContractError && error.code === 'CONTRACT_INVALID',
    );
    assert.throws(() => aclFor('a/b'), ContractError);
  });
});

describe('mayPublish', () => {
  it('allows a gateway its own up/ topics', () => {
    assert.equal(mayPublish('cab-12', 'kerbside/v1/cab-12/up/events'), true);
    assert.equal(mayPublish('cab-12', 'kerbside/v1/cab-12/up/status'), true);
  });

  it("refuses down/, another gateway's id, wildcards and malformed topics", () => {
    for (const topic of [
      'kerbside/v1/cab-12/down/ack',
      'kerbside/v1/cab-13/up/events',
      'kerbside/v1/cab-1/up/events', // a prefix of the id is not the id
      'kerbside/v1/cab-12/up',
      'kerbside/v1/cab-12/up/',
      'kerbside/v1/cab-12/up//events',
      'kerbside/v1/cab-12/up/#',
      'kerbside/v1/cab-12/up/+',
      'kerbside/v1/cab-12/up/ev+ents',
      'kerbside/v1/+/up/events',
      'kerbside/v1/cab-12/up/events\u0000',
      '#',
    ]) {
      assert.equal(mayPublish('cab-12', topic), false, topic);
    }
  });

  it('refuses everything for an invalid gateway id, even a matching topic', () => {
    assert.equal(mayPublish('+', 'kerbside/v1/+/up/events'), false);
    assert.equal(mayPublish('#', 'kerbside/v1/#/up/events'), false);
  });
});

describe('maySubscribe', () => {
  it('allows a gateway its own down/ topics, with wildcards below down/', () => {
    for (const filter of [
      'kerbside/v1/cab-12/down/#',
      'kerbside/v1/cab-12/down/+',
      'kerbside/v1/cab-12/down/cmd',
      'kerbside/v1/cab-12/down/config',
    ]) {
      assert.equal(maySubscribe('cab-12', filter), true, filter);
    }
  });

  it("refuses filters that could reach up/ or another gateway's topics", () => {
    for (const filter of [
      '#',
      '+/+/+/+/+',
      'kerbside/#',
      'kerbside/v1/#',
      'kerbside/v1/+/down/#',
      'kerbside/v1/+/down/cmd',
      'kerbside/v1/cab-12/#',
      'kerbside/v1/cab-12/+/cmd',
      'kerbside/v1/cab-12/up/#',
      'kerbside/v1/cab-13/down/#',
      '$share/g/kerbside/v1/cab-12/down/#',
    ]) {
      assert.equal(maySubscribe('cab-12', filter), false, filter);
    }
  });

  it('refuses malformed wildcards below down/', () => {
    for (const filter of [
      'kerbside/v1/cab-12/down/#/cmd',
      'kerbside/v1/cab-12/down/cm+',
      'kerbside/v1/cab-12/down/cmd#',
      'kerbside/v1/cab-12/down/',
      'kerbside/v1/cab-12/down',
    ]) {
      assert.equal(maySubscribe('cab-12', filter), false, filter);
    }
  });
});
