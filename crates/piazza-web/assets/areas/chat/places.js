// Places: the composer's "Location" (where the browser says I am, once the
// person allows it — "Use my location"; a refusal says how to allow it —,
// or coordinates typed in a small form, with a name), and a
// place's bubble: its name, its coordinates and a link to OpenStreetMap.
// Only a link: the page shows no map tiles and asks nothing of another
// site (its Content-Security-Policy would refuse them anyway).

import { h, icon } from '../../lib/dom.js';
import { formatDecimal, t } from '../../lib/i18n.js';
import { actions, openDialog } from '../../lib/ui.js';

/** The server's cap on a place's name, in characters. */
const NAME_MAX = 200;
/** How long the browser may look for where it is. */
const LOCATE_TIMEOUT_MS = 15000;
/** Decimals shown of a coordinate (about a metre). */
const SHOWN_DECIMALS = 5;

/**
 * Whether this page may ask where it is: the browser has geolocation, the
 * page is a secure context (https, or localhost: browsers refuse it to a
 * plain http:// LAN address), and its Permissions-Policy allows it (the
 * server's says `geolocation=(self)`; Chrome tells through
 * `document.permissionsPolicy`, or `featurePolicy` before it; a browser
 * that cannot say is asked, and its refusal is said).
 */
function canLocate() {
  const policy = /** @type {any} */ (document).permissionsPolicy ?? /** @type {any} */ (document).featurePolicy;
  return 'geolocation' in navigator && window.isSecureContext !== false && (policy?.allowsFeature?.('geolocation') ?? true);
}

/**
 * The place on OpenStreetMap's site, marked.
 * @param {{ lat: number, lon: number }} place
 */
export function mapUrl({ lat, lon }) {
  const marker = new URLSearchParams({ mlat: String(lat), mlon: String(lon) });
  return `https://www.openstreetmap.org/?${marker}#map=16/${lat}/${lon}`;
}

/**
 * A place's bubble content: a pin, its name ("Shared location" without
 * one), its coordinates in the language's digits, and the map's link.
 * @param {{ location: { lat: number, lon: number, name?: string } }} item
 */
export function locationContent(item) {
  const place = item.location;
  const coordinates = t('chat.location_coordinates', {
    lat: formatDecimal(place.lat, SHOWN_DECIMALS),
    lon: formatDecimal(place.lon, SHOWN_DECIMALS),
  });
  return h(
    'div',
    { class: 'place', 'data-testid': 'location' },
    h('span', { class: 'place-icon' }, icon('place')),
    h(
      'span',
      { class: 'place-text' },
      h('strong', { class: 'place-name' }, place.name || t('chat.location_unnamed')),
      h('span', { class: 'place-coordinates' }, coordinates),
      h(
        'a',
        { class: 'place-link', href: mapUrl(place), target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'location-link' },
        t('chat.location_open'),
      ),
    ),
  );
}

/**
 * The dialog that sends a place: "Use my location" (the browser asks
 * first; once allowed it fills the form at once), or the coordinates
 * typed, and an optional name. `send(place)` sends it.
 * @param {(place: { lat: number, lon: number, name?: string }) => void} send
 */
export function locationDialog(send) {
  openDialog({ title: t('chat.location_title'), testid: 'location-dialog', body: (close) => locationForm(send, close) });
}

function field(id, label, attributes) {
  const input = h('input', { id, name: id, ...attributes });
  return { input, element: h('div', { class: 'field' }, h('label', { for: id }, label), input) };
}

function locationForm(send, close) {
  const name = field('location-name', t('chat.location_name'), { maxlength: NAME_MAX, autocomplete: 'off', placeholder: t('chat.location_name_placeholder') });
  const coordinate = { type: 'number', step: 'any', required: true, inputmode: 'decimal' };
  const lat = field('location-lat', t('chat.location_lat'), { ...coordinate, min: '-90', max: '90' });
  const lon = field('location-lon', t('chat.location_lon'), { ...coordinate, min: '-180', max: '180' });
  const status = h('p', { class: 'hint', role: 'status', 'data-testid': 'location-status' });
  const locate = () => {
    status.textContent = t('chat.location_finding');
    navigator.geolocation.getCurrentPosition(
      (position) => {
        status.dataset.state = 'found';
        lat.input.value = position.coords.latitude.toFixed(6);
        lon.input.value = position.coords.longitude.toFixed(6);
        status.textContent = t('chat.location_found');
        name.input.focus();
      },
      (error) => {
        // Refused (now, or for this site before): say how to allow it; the form still takes coordinates.
        const denied = error.code === error.PERMISSION_DENIED;
        status.textContent = t(denied ? 'chat.location_denied' : 'chat.location_unavailable');
        status.dataset.state = denied ? 'denied' : 'unavailable';
        lat.input.focus();
      },
      { timeout: LOCATE_TIMEOUT_MS, maximumAge: 60000 },
    );
  };
  const here = canLocate()
    ? h('button', { type: 'button', class: 'location-here', 'data-testid': 'location-here', onclick: locate }, icon('place'), h('span', {}, t('chat.location_here')))
    : null;
  const form = h(
    'form',
    { class: 'dialog-form location-form' },
    here,
    status,
    h('div', { class: 'location-coordinates' }, lat.element, lon.element),
    name.element,
    actions(
      h('button', { type: 'button', onclick: close }, t('ui.cancel')),
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'location-send' }, t('chat.send')),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const place = { lat: lat.input.valueAsNumber, lon: lon.input.valueAsNumber };
    const named = name.input.value.trim();
    send(named ? { ...place, name: named } : place);
    close();
  });
  // Allowed before: where I am is filled in at once, with no question.
  navigator.permissions?.query({ name: 'geolocation' }).then((permission) => permission.state === 'granted' && here && locate(), () => {});
  return form;
}
