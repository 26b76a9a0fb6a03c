// The account's contacts, fetched once per session (and again after a
// contact event drops `session.state.contactsPromise`); their names and
// pictures go into the session's people as they come.

export function contactsOf(session) {
  if (!session.state.contactsPromise) {
    session.state.contactsPromise = session.api.contacts().then((answer) => {
      for (const contact of answer.contacts) session.remember(contact);
      return answer.contacts;
    });
    session.state.contactsPromise.catch(() => (session.state.contactsPromise = null));
  }
  return session.state.contactsPromise;
}
