// The legacy util/parsefiles_config.yml, read as it is: its roles and plays paths join
// dockmk's own (dockmk.yml `paths:`), and its `weights:` list (`- <image>: <minutes>`) weighs
// shards. docker_ignore_list is read but not applied: nothing in the legacy tooling applied
// it to the change mapping after 2020 (only a coverage checker read it).

import type { Paths } from '../config/config.js';
import type { AnsibleDirs } from './raw-ansible.js';
import type { SourceFile } from './raw-checkout.js';
import { DiscoveryError } from '../errors.js';
import { isMapping, loadAnsibleYaml } from './ansible-yaml.js';
import type { ParseMemo } from './memo.js';

export interface LegacyConfig {
  readonly path: string;
  readonly rolesPaths: readonly string[];
  readonly awsPlaysPaths: readonly string[];
  readonly dockerPlaysPaths: readonly string[];
  readonly dockerIgnoreList: readonly string[];
  /** Minutes per image. */
  readonly weights: Readonly<Record<string, number>>;
}

/** `memo`: what it gave in an earlier run (the generated bench checkout's holds 1,600 weights). */
export function parseLegacyConfig(source: SourceFile, memo?: ParseMemo<LegacyConfig>): LegacyConfig {
  const known = memo?.get(source.path);
  if (known !== undefined) return known;
  const parsed = parseText(source);
  memo?.set(source.path, parsed);
  return parsed;
}

function parseText(source: SourceFile): LegacyConfig {
  const yaml = loadAnsibleYaml(source);
  const value = yaml.value ?? {};
  if (!isMapping(value)) throw new DiscoveryError(source.path, 1, 'expected a mapping (roles_paths:, docker_plays_paths:, weights:, ...)');
  const list = (key: string): string[] => {
    const item = value[key];
    if (item === undefined || item === null) return [];
    if (!Array.isArray(item) || !item.every((entry) => typeof entry === 'string')) {
      throw new DiscoveryError(source.path, yaml.lineOf(value), `${key} must be a list of paths`);
    }
    return item.map((entry) => entry.replace(/\/+$/, ''));
  };
  const weights: Record<string, number> = {};
  const raw = value.weights ?? [];
  const entries = Array.isArray(raw) ? raw : [raw];
  const lines = Array.isArray(raw) ? yaml.itemLines(raw) : undefined;
  entries.forEach((entry, i) => {
    const line = lines?.[i] ?? (isMapping(entry) ? yaml.lineOf(entry) : undefined);
    if (!isMapping(entry)) throw new DiscoveryError(source.path, line, 'weights must be a list of "- <image>: <minutes>"');
    for (const [name, minutes] of Object.entries(entry)) {
      if (typeof minutes !== 'number' || !(minutes > 0) || !Number.isFinite(minutes)) {
        throw new DiscoveryError(source.path, line, `the weight of "${name}" must be a positive number of minutes`);
      }
      weights[name] = minutes;
    }
  });
  return {
    path: source.path,
    rolesPaths: list('roles_paths'),
    awsPlaysPaths: list('aws_plays_paths'),
    dockerPlaysPaths: list('docker_plays_paths'),
    dockerIgnoreList: list('docker_ignore_list'),
    weights,
  };
}

/** dockmk's paths first, then the legacy ones it does not already name. */
export function ansibleDirs(paths: Paths, legacy: LegacyConfig | null): AnsibleDirs {
  const merge = (own: string, extra: readonly string[] = []): string[] => [...new Set([own, ...extra])];
  return {
    roles: merge(paths.roles, legacy?.rolesPaths),
    dockerPlays: merge(paths.plays, legacy?.dockerPlaysPaths),
    playbooks: merge(paths.playbooks, legacy?.awsPlaysPaths),
  };
}
