// The areas of the client. Adding an area (moments, channels, shops) is
// importing its module here and giving it its place in `areas`, the order
// of the navigation: each module exports `area` with its routes, its
// navigation entry and an optional `attach(session)` that sets up its
// per-account state.

import { area as auth } from './auth/index.js';
import { area as channels } from './channels/index.js';
import { area as chat } from './chat/index.js';
import { area as contacts } from './contacts/index.js';
import { area as devices } from './devices/index.js';
import { area as me } from './me/index.js';
import { area as moments } from './moments/index.js';
import { area as search } from './search/index.js';
import { area as shops } from './shops/index.js';
import { area as wallet } from './wallet/index.js';

/** In navigation order: Me comes last, as in the apps people know. */
export const areas = [auth, chat, contacts, moments, channels, shops, devices, wallet, me, search];
