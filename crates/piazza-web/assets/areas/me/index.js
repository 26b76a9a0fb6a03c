// Me: my own profile (picture, display name, bio), who sees when I am
// online, and my password, from its tab and from the account menu. The
// page itself (view.js) loads on first visit; this module only registers
// the area and tells this device when another one changed the password.

import { t } from '../../lib/i18n.js';
import { toast } from '../../lib/ui.js';

export const area = {
  id: 'me',
  nav: { label: 'nav.me', href: '#/me', icon: 'me' },
  menu: [{ label: 'me.menu', href: '#/me', testid: 'menu-profile' }],
  routes: [{ path: '/me', lazy: () => import('./view.js').then((m) => m.meView) }],
  attach(session) {
    session.addEventListener('event', (e) => {
      const event = e.detail;
      if (event.type === 'account.password_changed' && event.by_device_id !== session.account.device_id) {
        toast(t('me.password_changed_elsewhere'), { timeoutMs: 8000 });
      }
    });
  },
};
