import assert from 'node:assert/strict';
import { eventually } from '../helpers/eventually.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClusterState } from '../../src/cluster/state.js';
import { silentLogger } from '../../src/base/log.js';
import { ManifestError, ManifestSource, loadManifests } from '../../src/sources/manifests.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-man-'));

describe('manifests source', () => {
  it('loads the shipped demo cluster with no warnings (examples/ holds only accepted objects)', () => {
    const warnings: string[] = [];
    const objects = loadManifests('examples', (w) => warnings.push(w));
    assert.deepEqual(warnings, []);
    assert.ok(objects.length >= 15);
    assert.ok(objects.some((o) => o.kind === 'EndpointSlice'));
  });

  it('accepts multi-document files, kind: List and JSON; warns about other kinds', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.0.0.1}\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n');
    fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }] }));
    const warnings: string[] = [];
    const objects = loadManifests(dir, (w) => warnings.push(w));
    assert.deepEqual(objects.map((o) => o.kind), ['Service', 'Namespace']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /a\.yaml document 3: kind "Deployment" is not served/);
  });

  it('names the file and document of a bad object', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 300.1.1.1}\n');
    const source = new ManifestSource(dir, new ClusterState(true), silentLogger);
    assert.throws(() => source.start(false), (e: unknown) => e instanceof ManifestError && /bad\.yaml document 2: spec\.clusterIPs has an invalid address "300\.1\.1\.1"/.test(e.message));
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'kind: [unclosed\n');
    assert.throws(() => loadManifests(dir, () => {}), /bad\.yaml:/);
    assert.throws(() => loadManifests(path.join(dir, 'missing'), () => {}), /no such file or folder/);
  });

  it('reloads on change: applies additions and removals, and keeps the last good state when a file breaks', async () => {
    const dir = tmp();
    const file = path.join(dir, 'svc.yaml');
    const svc = (name: string, ip: string): string => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ns}\nspec: {clusterIP: ${ip}}\n`;
    fs.writeFileSync(file, svc('one', '10.0.0.1'));
    const state = new ClusterState(true);
    const source = new ManifestSource(dir, state, silentLogger);
    source.start(true);
    try {
      assert.deepEqual([...state.services.keys()], ['ns/one']);
      fs.writeFileSync(file, svc('two', '10.0.0.2'));
      await eventually(3000, 'the change is applied', () => state.services.has('ns/two'));
      assert.deepEqual([...state.services.keys()], ['ns/two']);
      fs.writeFileSync(file, 'kind: [broken\n');
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual([...state.services.keys()], ['ns/two'], 'a broken file changes nothing');
    } finally {
      source.stop();
    }
  });
});
