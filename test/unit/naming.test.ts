import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkContainerName, checkJobName, checkStagedPath, filePathFor, blobPathFor, SiblingCollisionChecker } from '../../core/plan/naming.js';
import { checkBitLockerRecoveryPassword, normalizeBitLockerKey } from '../../core/manifest/bitlocker-key.js';

const opts = { container: 'backup', suffix: '.zst' };
const rules = (p: string) => checkStagedPath(p, opts).map((x) => x.rule);

test('container names follow the storage rules', () => {
  for (const ok of ['abc', 'my-container-1', '$root', 'a'.repeat(63)]) assert.equal(checkContainerName(ok), undefined, ok);
  for (const bad of ['ab', 'a'.repeat(64), 'Abc', 'a_b', '-abc', 'abc-', 'a--b']) assert.ok(checkContainerName(bad), bad);
});

test('job names: lowercase, digits, hyphen, underscore, starting with a letter', () => {
  for (const ok of ['job', 'my_job-2026']) assert.equal(checkJobName(ok), undefined);
  for (const bad of ['jb', '1job', 'Job', 'job name', 'j'.repeat(65)]) assert.ok(checkJobName(bad), bad);
});

test('each rule is caught with its stable id', () => {
  assert.deepEqual(rules('dir/file.txt'), []);
  assert.ok(rules('bad\nname').includes('control-character'));
  assert.ok(rules('tab\there').includes('control-character'));
  assert.ok(rules('a/b:c').includes('windows-forbidden-char'));
  assert.ok(rules('a/b?c').includes('windows-forbidden-char'));
  assert.ok(rules('back\\slash').includes('windows-forbidden-char'));
  assert.ok(rules('dir./x').includes('trailing-space-or-dot'));
  assert.ok(rules('dir /x').includes('trailing-space-or-dot'));
  assert.ok(rules('CON').includes('reserved-device-name'));
  assert.ok(rules('x/nul.txt').includes('reserved-device-name'));
  assert.ok(rules('x/Lpt9.log').includes('reserved-device-name'));
  assert.ok(!rules('x/console.txt').includes('reserved-device-name'));
  assert.ok(rules('n'.repeat(256)).includes('component-too-long'));
  assert.ok(rules(Array.from({ length: 255 }, () => 'd').join('/')).includes('too-many-segments'));
  assert.ok(rules(Array.from({ length: 120 }, () => 'abcdefghi').join('/')).includes('blob-name-too-long'));
  assert.ok(rules('bad\uFFFDname').includes('not-utf8'));
  assert.ok(rules('x\ud800y').includes('lone-surrogate'));
  assert.deepEqual(checkStagedPath('a/b', { container: '$root', suffix: '' }).map((p) => p.rule), ['root-container-dir']);
  const long = checkStagedPath(Array.from({ length: 30 }, () => 'abcdefghi').join('/'), opts);
  assert.deepEqual(long.map((p) => [p.rule, p.severity]), [['path-over-max-path', 'warning']]);
});

test('blob and file paths', () => {
  assert.equal(blobPathFor('c', 'a/b.txt', '.zst'), 'c/a/b.txt.zst');
  assert.equal(filePathFor('c', 'a/b.txt', ''), '\\c\\a\\b.txt');
});

test('names that differ only in case collide on NTFS', () => {
  const c = new SiblingCollisionChecker();
  assert.deepEqual(c.check(['A.txt', 'b', 'a.TXT']), [{ name: 'a.TXT', other: 'A.txt' }]);
  assert.deepEqual(c.check(['é', 'e\u0301']), [{ name: 'e\u0301', other: 'é' }], 'NFC and NFD forms of one name');
  assert.deepEqual(c.check(['x', 'y']), []);
});

test('property: an accepted path gives a blob name within limits and a FilePath without forbidden characters', () => {
  const seg = fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom(...'abcXYZ019 .-_éé日本🚢:?*<>|"\\\n\t'.split('')) });
  fc.assert(
    fc.property(fc.array(seg, { minLength: 1, maxLength: 8 }), (segs) => {
      const p = segs.join('/');
      const problems = checkStagedPath(p, opts).filter((x) => x.severity === 'error');
      if (problems.length === 0) {
        assert.ok([...blobPathFor('backup', p, '.zst')].length <= 1024 + 7);
        const fp = filePathFor('backup', p, '.zst');
        assert.ok(!/[<>:"|?*\u0000-\u001f]/.test(fp), fp);
        for (const comp of fp.split('\\').slice(1)) assert.ok(!/[ .]$/.test(comp), comp);
      }
    }),
  );
});

test('BitLocker numerical passwords: 8 groups of 6 digits, each a multiple of 11 below 720896', () => {
  assert.equal(checkBitLockerRecoveryPassword('238810-662376-448998-450120-652806-203390-606320-483076'), undefined);
  assert.equal(normalizeBitLockerKey('238810662376448998450120652806203390606320483076'), '238810-662376-448998-450120-652806-203390-606320-483076');
  assert.match(checkBitLockerRecoveryPassword('238810-662376-448998-450120-652806-203390-606320-48307') ?? '', /48 digits/);
  assert.match(checkBitLockerRecoveryPassword('238811-662376-448998-450120-652806-203390-606320-483076') ?? '', /group 1 \(238811\)/);
  assert.match(checkBitLockerRecoveryPassword('720896-662376-448998-450120-652806-203390-606320-483076') ?? '', /group 1/);
});
