"""Conversations: the same person raising the same issue on two platforms is one conversation.

A new mention about to be routed is *attached* to a conversation (no second assignment, no
second page) when all of these hold against a mention that already has an open or queued
assignment (or is already linked into one), on another platform:

- **the same person**, by the strongest evidence available:
  ``directory`` (both accounts linked to one person with ``socialops people link``),
  ``profile`` (one account's profile, as the platform sent it with the mention, names the
  other: Mastodon ``account.fields``/``note``, a Bluesky ``description``, an X description), or,
  weakest, ``same_handle``/``same_display_name`` (the normalised handle local part, or a
  display name of two words or more, is the same). Two accounts the directory gives to two
  different people are never linked;
- **the same issue**: character n-gram cosine of the two texts (URLs and @handles left out) at
  least ``conversations.known_person_similarity`` for directory/profile evidence and the higher
  ``conversations.heuristic_similarity`` for a heuristic match; the same department (the
  owning one); posted within ``conversations.window_hours`` of each other.

The conversation's assignment is its opener's (the mention routed first); an urgent mention
makes it urgent; the owner hears "also raised on Bluesky" through the notification layer
(quiet hours as usual); acting on any of its mentions acts on the conversation. Every link is
audited with its evidence and similarity; ``unlink`` puts a mention back on its own (it is
routed alone at the next pass and never linked again automatically).

Linking is idempotent and safe under concurrent routing runs: one conversation per opener and
one membership per mention are unique constraints, and inserts do nothing on conflict.

The package, by seam: ``tables`` (the four tables of migration 0012 and their constants),
``texts`` (the same issue: text similarity), ``identity`` (the same person: identities and
evidence), ``directory`` (the person directory), ``linking`` (routing's hook, ``unlink``),
``notices`` (what joining does to the assignment and its owner), ``replies`` (the drafting
stage's hook) and ``views`` (the inbox and ``socialops conversations``). Import from the
package: ``from socialops import conversations`` then ``conversations.attach``.
"""

from __future__ import annotations

from socialops.conversations.directory import (
    PersonView,
    accounts_by_person,
    directory_of,
    link_people,
    people,
    unlink_person_account,
    whole_directory,
)
from socialops.conversations.identity import (
    Evidence,
    Identity,
    accounts_named,
    canonical,
    identity_from,
    identity_keys,
    identity_of,
    keys_to_look_up,
    parse_account,
    same_person,
)
from socialops.conversations.linking import (
    Candidate,
    Match,
    attach,
    find_match,
    owner_mention,
    unlink,
)
from socialops.conversations.notices import announce_link
from socialops.conversations.replies import reply_rows
from socialops.conversations.tables import (
    KNOWN,
    LINKED,
    LINKER,
    MEMBER,
    OPENER,
    PLATFORM_NAMES,
    PLATFORMS,
    UNLINKED,
    ConversationError,
    ConversationMentionRow,
    ConversationRow,
    DirectoryAccountRow,
    DirectoryPersonRow,
    membership,
)
from socialops.conversations.texts import cosine, ngrams, normalise_text, similarity, squares
from socialops.conversations.views import (
    ConversationView,
    LinkView,
    conversation_views,
    links_for,
)

__all__ = [
    "KNOWN",
    "LINKED",
    "LINKER",
    "MEMBER",
    "OPENER",
    "PLATFORMS",
    "PLATFORM_NAMES",
    "UNLINKED",
    "Candidate",
    "ConversationError",
    "ConversationMentionRow",
    "ConversationRow",
    "ConversationView",
    "DirectoryAccountRow",
    "DirectoryPersonRow",
    "Evidence",
    "Identity",
    "LinkView",
    "Match",
    "PersonView",
    "accounts_by_person",
    "accounts_named",
    "announce_link",
    "attach",
    "canonical",
    "conversation_views",
    "cosine",
    "directory_of",
    "find_match",
    "identity_from",
    "identity_keys",
    "identity_of",
    "keys_to_look_up",
    "link_people",
    "links_for",
    "membership",
    "ngrams",
    "normalise_text",
    "owner_mention",
    "parse_account",
    "people",
    "reply_rows",
    "same_person",
    "similarity",
    "squares",
    "unlink",
    "unlink_person_account",
    "whole_directory",
]
