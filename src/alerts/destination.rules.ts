/**
 * Where an account's alerts go: the owner's alert channel, else
 * their DM (a user id: the outbox opens the DM); an unowned account's go to
 * its team channel. Null when there is nowhere to post. Pure.
 */
export interface DestinationInput {
  ownerSlackId: string | null;
  ownerAlertChannelId: string | null;
  ownerActive: boolean | null;
  teamChannelId: string | null;
}

export function alertDestination(d: DestinationInput): string | null {
  if (d.ownerSlackId && d.ownerActive !== false) return d.ownerAlertChannelId ?? d.ownerSlackId;
  return d.teamChannelId ?? null;
}

/** De-duplication keys: one message per warning episode, per reminder, per digest day. */
export const notificationKeys = {
  warning: (customerId: string, episode: number) => `warning:${customerId}:${episode}`,
  /** The warning's message edited once it is over (recovered, churned, replaced). */
  warningClosed: (alertId: string) => `warning-closed:${alertId}`,
  renewalReminder: (customerId: string, renewalDate: string, daysBefore: number) => `renewal:${customerId}:${renewalDate}:${daysBefore}`,
  digest: (teamId: number, localDate: string) => `digest:${teamId}:${localDate}`,
};
