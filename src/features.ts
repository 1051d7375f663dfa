/**
 * Side-effect imports that register each feature's listeners, routes,
 * schedules and CLI verbs with the composition root. One line per feature.
 */
import './ingest/ingest.routes.js';
import './ownership/register.js';
import './feedback/register.js';
import './home/register.js';
import './scores/register.js';
import './alerts/register.js';
export {};
