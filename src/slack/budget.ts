/**
 * How long the work behind one Slack request may take (database included):
 * Slack wants an answer within 3 seconds, and the reply itself needs a
 * moment to travel. Past it, the person is told retain is busy.
 */
export const REQUEST_BUDGET_MS = 2_000;
