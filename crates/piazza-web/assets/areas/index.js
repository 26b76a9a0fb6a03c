// The areas of the client, in navigation order. Adding an area (wallet,
// moments, channels, shops) is adding its module here: each exports `area`
// with its routes, its navigation entry and an optional `attach(session)`
// that sets up its per-account state.

export { area as auth } from './auth/index.js';
export { area as chat } from './chat/index.js';
export { area as contacts } from './contacts/index.js';
export { area as devices } from './devices/index.js';
export { area as wallet } from './wallet/index.js';
export { area as me } from './me/index.js';
