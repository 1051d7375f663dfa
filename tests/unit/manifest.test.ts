import type { AppsManifestValidateArguments } from '@slack/web-api';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import manifestJson from '../../manifest.json' with { type: 'json' };
import { wire } from '../../src/feature.js';
import { features } from '../../src/features.js';
import { SHORTCUTS } from '../../src/slack/ids.js';

/** manifest.json is what an admin imports into Slack: it must match the code. */
const manifest = JSON.parse(readFileSync('manifest.json', 'utf8'));

/**
 * Slack's published manifest type (the one apps.manifest.validate takes),
 * checked by the typecheck: every field's name, nesting and value type. A JSON
 * import widens string literals, so enumerated fields are read as strings here
 * and checked against their allowed values below.
 */
type SlackManifest = AppsManifestValidateArguments['manifest'];
type Widened<T> = T extends string ? string : T extends readonly (infer U)[] ? Widened<U>[] : T extends object ? { [K in keyof T]: Widened<T[K]> } : T;
const typed: Widened<SlackManifest> = manifestJson;

describe('manifest.json', () => {
  it("matches Slack's manifest type, its enumerated values included", () => {
    expect(typed.display_information.name.length).toBeLessThanOrEqual(35);
    expect((typed.display_information.description ?? '').length).toBeLessThanOrEqual(140);
    for (const s of typed.features?.shortcuts ?? []) expect(['message', 'global']).toContain(s.type);
    expect(typed._metadata?.major_version).toBe(1);
  });

  it('declares exactly the registered slash commands, each with should_escape and a usage hint', () => {
    const declared = manifest.features.slash_commands.map((c: { command: string }) => c.command).sort();
    expect(declared).toEqual([...wire(features).slash.keys()].sort());
    for (const c of manifest.features.slash_commands) {
      expect(c.should_escape, `${c.command} must escape @mentions`).toBe(true);
      expect(c.usage_hint).toBeTypeOf('string');
      expect(c.description.length).toBeLessThanOrEqual(100);
    }
  });

  it('declares the message shortcut with the callback id the app listens to', () => {
    expect(manifest.features.shortcuts).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'message', callback_id: SHORTCUTS.logFeedback, name: 'Log as customer feedback' })]),
    );
    const ids = manifest.features.shortcuts.map((s: { callback_id: string }) => s.callback_id);
    expect(ids.every((id: string) => (Object.values(SHORTCUTS) as string[]).includes(id))).toBe(true);
  });

  it('has App Home, the events and interactivity the app uses, and the scopes its Web API calls need', () => {
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(manifest.features.bot_user.display_name).toBeTruthy();
    expect(manifest.settings.event_subscriptions.bot_events).toContain('app_home_opened');
    expect(manifest.settings.interactivity).toMatchObject({
      is_enabled: true,
      request_url: expect.stringMatching(/\/slack\/events$/),
      message_menu_options_url: expect.stringMatching(/\/slack\/events$/),
    });
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    const scopes: string[] = manifest.oauth_config.scopes.bot;
    // commands; chat.postMessage/update (+ public channels); conversations.open; outbox recovery reads conversations.history.
    for (const s of ['commands', 'chat:write', 'chat:write.public', 'im:write', 'channels:history', 'groups:history', 'im:history'])
      expect(scopes).toContain(s);
    // Nothing it does not use: it never reads user profiles (roles live in retain's database).
    expect(scopes).not.toContain('users:read');
    expect(new Set(scopes).size).toBe(scopes.length);
  });
});
