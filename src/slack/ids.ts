/**
 * Every action, callback and view id in one place, used by the Block Kit
 * builders and the listeners alike, so a renamed id cannot strand a button.
 */
export const ACTIONS = {
  openCard: 'customer_open_card',
  /** A menu of accounts (the book's table) that opens the one picked. */
  openCardMenu: 'customer_open_card_menu',
  /** A choice between customers that finishes the command the person typed (claim, log, /feedback…). */
  resumeCommand: 'customer_resume_command',
  shareCard: 'customer_share_card',
  // Ownership disputes
  approveDispute: 'dispute_approve',
  rejectDispute: 'dispute_reject',
  // Feedback modal (message shortcut)
  feedbackCustomer: 'feedback_customer_select',
  feedbackKind: 'feedback_kind_select',
  feedbackText: 'feedback_text_input',
} as const;

/** Block ids of the inputs in the feedback modal (view_submission state is keyed by block id). */
export const BLOCKS = {
  feedbackCustomer: 'feedback_customer',
  feedbackKind: 'feedback_kind',
  feedbackText: 'feedback_text',
} as const;

/** Shortcut callback ids; manifest.json declares the same ids (checked by a test). */
export const SHORTCUTS = {
  logFeedback: 'log_customer_feedback',
} as const;

/** Modal callback ids. */
export const VIEWS = {
  feedbackModal: 'feedback_modal',
} as const;

export const COMMANDS = {
  customer: '/customer',
  feedback: '/feedback',
} as const;

/** Churn warnings: buttons on the warning, and the follow-up modal's callback id. */
export const ALERT_ACTIONS = {
  logFollowUp: 'alert_log_follow_up',
  snooze: 'alert_snooze',
  acknowledge: 'alert_acknowledge',
  useful: 'alert_useful',
  falseAlarm: 'alert_false_alarm',
  followUpView: 'alert_follow_up_modal',
} as const;

/** Renewal reminders: buttons, and the churn-reason modal's callback id. */
export const RENEWAL_ACTIONS = {
  renewed: 'renewal_renewed',
  churned: 'renewal_churned',
  snooze: 'renewal_snooze',
  churnView: 'renewal_churn_modal',
} as const;
