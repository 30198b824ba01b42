import { describe, expect, it } from 'vitest';
import { pythonJsonDumps, pythonNumber, pythonStr } from './python-format.ts';

// Expected strings are what CPython 3 prints for str(x) / json.dumps(x).
describe("Python's str() and json.dumps, as the W&B agent renders values", () => {
  it('floats: shortest repr, scientific below 1e-4 and from 1e16', () => {
    expect(pythonNumber(0.001)).toBe('0.001');
    expect(pythonNumber(0.0001)).toBe('0.0001');
    expect(pythonNumber(0.00001)).toBe('1e-05');
    expect(pythonNumber(0.000012345)).toBe('1.2345e-05');
    expect(pythonNumber(123.456)).toBe('123.456');
    expect(pythonNumber(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(pythonNumber(1.5e16)).toBe('1.5e+16');
    expect(pythonNumber(2.5e-300)).toBe('2.5e-300');
    expect(pythonNumber(-0.0031622776601683794)).toBe('-0.0031622776601683794');
    expect(pythonNumber(64)).toBe('64');
    expect(pythonNumber(Number.NaN)).toBe('nan');
  });

  it('booleans, None, strings, lists and dicts', () => {
    expect(pythonStr(true)).toBe('True');
    expect(pythonStr(null)).toBe('None');
    expect(pythonStr('adam')).toBe('adam');
    expect(pythonStr([1, 'a', false, 0.5])).toBe("[1, 'a', False, 0.5]");
    expect(pythonStr({ lr: 0.00001, name: "it's" })).toBe(`{'lr': 1e-05, 'name': "it's"}`);
  });

  it('json.dumps: spaced separators, Python float text, ASCII escapes', () => {
    expect(
      pythonJsonDumps({
        'train.learningRate': 0.00001,
        'train.batchSize': 64,
        flag: true,
        none: null,
        s: 'é',
      }),
    ).toBe(
      '{"train.learningRate": 1e-05, "train.batchSize": 64, "flag": true, "none": null, "s": "\\u00e9"}',
    );
    expect(pythonJsonDumps([1.5, 'x'])).toBe('[1.5, "x"]');
  });
});
