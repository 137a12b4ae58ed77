import t from 'tap';
import { ApiException } from '@kubernetes/client-node';
import { isStaleWrite } from '../../../reconciler/claim-controller.js';

const status = (code: number, details: object) => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, details });

t.test('a refused guard is a stale write; a validation error is not', async (t) => {
  t.ok(isStaleWrite(new ApiException(409, 'conflict', status(409, {}), {})), '409');
  t.ok(isStaleWrite(new ApiException(422, 'invalid', `${status(422, {})}\n`, {})), 'a failed JSON-patch test: 422 without causes');
  t.notOk(isStaleWrite(new ApiException(422, 'invalid', status(422, { causes: [{ field: 'status.phase', message: 'Unsupported value' }] }), {})), 'a 422 naming fields');
  t.notOk(isStaleWrite(new ApiException(422, 'invalid', 'not json', {})), 'unreadable: not assumed stale');
  t.notOk(isStaleWrite(new ApiException(500, 'boom', '', {})));
  t.notOk(isStaleWrite(new Error('network')));
});
