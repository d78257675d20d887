import { costCapReason } from '../panel/format';

describe('costCapReason', () => {
  it.each([
    [
      'Cancelled by its cost cap: ≈ $0.51 reached the $0.50 cap at 10:42',
      '≈ $0.51 reached the $0.50 cap'
    ],
    [
      'cancel requested by its cost cap: ≈ $0.0002 reached the $0.0001 cap at 9:05',
      '≈ $0.0002 reached the $0.0001 cap'
    ]
  ])('reads what the cap reached from "%s"', (message, reason) => {
    expect(costCapReason(message)).toBe(reason);
  });

  it.each([
    'Cancelled by you at 10:42',
    'cancel requested by you at 10:42',
    null,
    undefined
  ])('is null for a job its cap did not stop (%s)', message => {
    expect(costCapReason(message)).toBeNull();
  });
});
