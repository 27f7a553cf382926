import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graphChains } from '../../lib/model/graph/chains.ts';

describe('graphChains: how many pieces a batch runs in side by side', () => {
  it('takes one chain per group of intra-op threads the inter-op pool holds', () => {
    assert.equal(graphChains(64, { intraOp: 1, interOp: 2 }), 2, 'the backend default on 2 CPUs');
    assert.equal(graphChains(64, { intraOp: 1, interOp: 6 }), 6, 'the train Lambda: 6 vCPUs');
    assert.equal(graphChains(64, { intraOp: 2, interOp: 8 }), 4);
    assert.equal(graphChains(64, { intraOp: 2, interOp: 2 }), 1, 'every thread inside kernels: one chain, as before chains');
    assert.equal(graphChains(64, { intraOp: 4, interOp: 2 }), 1);
  });

  it('keeps at least 8 rows a chain, and one chain off native TensorFlow', () => {
    assert.equal(graphChains(16, { intraOp: 1, interOp: 6 }), 2);
    assert.equal(graphChains(7, { intraOp: 1, interOp: 6 }), 1);
    assert.equal(graphChains(1000, { intraOp: 1, interOp: 6 }), 6);
    assert.equal(graphChains(64, undefined), 1);
  });
});
