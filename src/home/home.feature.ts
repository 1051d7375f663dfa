import type { Feature } from '../feature.js';
import { registerHomeListener } from './home.listener.js';

/** App Home: each member's book of business, riskiest first, renewals due, overdue follow-ups. */
export const homeFeature: Feature = {
  name: 'home',
  listeners: [registerHomeListener],
};
