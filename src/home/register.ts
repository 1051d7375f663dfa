import { addListeners } from '../slack/app.js';
import { registerHomeListener } from './home.listener.js';

/** App Home (issue 5): each member's book of business. */
addListeners(registerHomeListener);
