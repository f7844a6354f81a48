"""Every sentence one-bot says, in one catalogue keyed by message id, ready for translation.

A translation is another mapping with the same keys; ``t`` falls back to English for any key a
translation lacks. Placeholders use ``str.format`` names.
"""

from __future__ import annotations

from collections.abc import Mapping

EN: Mapping[str, str] = {
    # --- start & help -------------------------------------------------------------------------
    "start.welcome": (
        "👋 Welcome to ONE, {name}!\n"
        "Follow your favourite creators, and talk with them here.\n\n"
        "• /creators — discover creators (or /creators NICHE)\n"
        "• /help — everything you can do"
    ),
    "start.deep_link": "👋 Welcome to ONE, {name}! Here is the creator you came for:",
    "start.welcome_creator": "👋 Welcome back, {name}! You run @{handle}. /help lists your tools.",
    "help.title": "Here is what you can do:",
    "help.fans": "For fans",
    "help.creators": "For creators (@{handle})",
    "help.become_creator": "Are you a creator? Start here:",
    "help.usage_hint": "Send a command without arguments to see how to use it.",
    "button.discover": "🔎 Discover creators",
    "button.help": "❓ Help",
    "button.follow": "➕ Follow",
    "button.unfollow": "➖ Unfollow",
    "button.profile": "@{handle} · {followers}",
    "button.my_profile": "👤 My profile",
    # --- command descriptions (help and platform menus) --------------------------------------
    "cmd.start": "Start here",
    "cmd.help": "What you can do",
    "cmd.creators": "Discover creators, optionally by niche",
    "cmd.creator": "A creator's profile",
    "cmd.follow": "Follow a creator",
    "cmd.unfollow": "Stop following a creator",
    "cmd.following": "Creators you follow",
    "cmd.register": "Become a creator",
    "cmd.profile": "Show or edit your creator profile",
    "cmd.events": "Latest activity around your profile",
    "cmd.token": "Create your token (its symbol and price)",
    "cmd.wallet": "Your wallet address",
    "cmd.balance": "The tokens you hold",
    "cmd.buy": "Buy a creator's tokens",
    "cmd.pay": "Pay a purchase another way",
    "cmd.ask": "Ask a creator's AI clone one question",
    "cmd.chat": "Chat with a creator's AI clone",
    "cmd.end": "End your chat with a clone",
    "cmd.clone": "Show or set up your AI clone",
    "cmd.knowledge": "Teach your clone: add, list or remove knowledge",
    "cmd.journey": "Your journeys (creators: your journey's texts and waits)",
    "cmd.stop": "Stop a creator's journey messages (or all)",
    "cmd.rate": "Rate a creator's journey from 1 to 5",
    "cmd.link": "Join your Telegram and Discord accounts",
    "cmd.gate": "A Discord role for holders of your token (in your server)",
    # --- syntax (help lines) ------------------------------------------------------------------
    "syntax.start": "/start [HANDLE]",
    "syntax.help": "/help",
    "syntax.creators": "/creators [NICHE]",
    "syntax.creator": "/creator HANDLE",
    "syntax.follow": "/follow HANDLE",
    "syntax.unfollow": "/unfollow HANDLE",
    "syntax.following": "/following",
    "syntax.register": "/register NAME | EMAIL | NICHE, NICHE",
    "syntax.profile": "/profile [bio|niche|avatar …]",
    "syntax.events": "/events",
    "syntax.token": "/token SYMBOL PRICE_USD",
    "syntax.wallet": "/wallet [ADDRESS [SIGNATURE]]",
    "syntax.balance": "/balance",
    "syntax.buy": "/buy HANDLE AMOUNT",
    "syntax.pay": "/pay PURCHASE RAIL",
    "syntax.ask": "/ask HANDLE QUESTION",
    "syntax.chat": "/chat HANDLE",
    "syntax.end": "/end",
    "syntax.clone": "/clone [persona|gate|cost|reward|temperature …]",
    "syntax.knowledge": "/knowledge [add TEXT|list|remove ID]",
    "syntax.journey": "/journey",
    "syntax.stop": "/stop [HANDLE]",
    "syntax.rate": "/rate HANDLE 1-5",
    "syntax.link": "/link [CODE]",
    "syntax.gate": "/gate [ROLE MIN_TOKENS]",
    "help.line": "{syntax} — {description}",
    # --- usage lines -------------------------------------------------------------------------
    "usage.start": "/start [HANDLE] — e.g. /start alice opens @alice's profile",
    "usage.help": "/help",
    "usage.creators": "/creators [NICHE] — e.g. /creators fitness",
    "usage.creator": "/creator HANDLE — e.g. /creator alice",
    "usage.follow": "/follow HANDLE — e.g. /follow alice",
    "usage.unfollow": "/unfollow HANDLE — e.g. /unfollow alice",
    "usage.following": "/following",
    "usage.register": (
        "/register NAME | EMAIL | NICHE, NICHE — e.g. "
        "/register Alice Smith | alice@example.com | fitness, cooking"
    ),
    "usage.profile": (
        "/profile — show your profile\n"
        "/profile bio TEXT — set your bio\n"
        "/profile niche A, B — set your niches (1 to 10)\n"
        "/profile avatar URL — set your picture (an http(s) link)"
    ),
    "usage.events": "/events",
    "usage.token": (
        "/token SYMBOL PRICE_USD — e.g. /token ALICE 1.50 (2 to 8 letters; a price above $0)"
    ),
    "usage.wallet": (
        "/wallet — your address\n"
        "/wallet ADDRESS — link your own wallet: you get a message to sign\n"
        "/wallet ADDRESS SIGNATURE — finish linking it"
    ),
    "usage.balance": "/balance",
    "usage.buy": "/buy HANDLE AMOUNT — e.g. /buy alice 100 (a whole number of tokens)",
    "usage.pay": "/pay PURCHASE RAIL — e.g. /pay 7 stars (the buttons under /buy do this)",
    "usage.ask": "/ask HANDLE QUESTION — e.g. /ask alice How do you plan your week?",
    "usage.chat": ("/chat HANDLE — e.g. /chat alice, then just write; /end stops the chat"),
    "usage.end": "/end",
    "usage.clone": (
        "/clone — your clone's settings and statistics\n"
        "/clone persona TEXT — how your clone speaks and what it cares about\n"
        "/clone gate N — tokens a fan must hold to talk to it (0 = everyone)\n"
        "/clone cost N — tokens a fan pays per answer (0 = free)\n"
        "/clone reward N — tokens a fan earns per answer (capped per day)\n"
        "/clone temperature T — 0 (focused) to 2 (inventive), e.g. 0.7"
    ),
    "usage.knowledge": (
        "/knowledge add TEXT — teach your clone something\n"
        "/knowledge list — what it knows\n"
        "/knowledge remove ID — forget an item (its ID is in the list)\n"
        "Or send a document: .txt, .md or .pdf."
    ),
    "usage.journey": (
        "/journey — where your journeys stand (creators: your journey's steps)\n"
        "/journey STEP text TEXT — creators: what a step says, e.g. /journey hook text Hi!\n"
        "/journey STEP wait HOURS — creators: the wait before a step, e.g. /journey gift wait 12\n"
        "/journey on|off — creators: start your journey for new followers, or not"
    ),
    "usage.stop": "/stop [HANDLE] — e.g. /stop alice; /stop alone stops every journey",
    "usage.rate": "/rate HANDLE 1-5 — e.g. /rate alice 5",
    "usage.gate": (
        "/gate ROLE MIN_TOKENS — in your Discord server, e.g. /gate @Fans 100; /gate alone lists "
        "your gates"
    ),
    "usage.link": "/link, then /link CODE on your other account — e.g. /link ABCD-2345",
    "usage.reply": "ℹ️ How to use it:\n{usage}",
    # --- general -----------------------------------------------------------------------------
    "gate.set": (
        "🔐 {role} now goes to everyone holding at least {least:,} ${symbol} (who linked their "
        "Discord account), and leaves them when their balance drops below. {holders:,} qualify "
        "now; their roles follow within seconds."
    ),
    "gate.none": (
        "You have no token-gated roles yet. In your Discord server: /gate ROLE MIN_TOKENS."
    ),
    "gate.title": "🔐 Your token-gated roles:",
    "gate.line": "• {role}: {least:,} ${symbol} or more",
    "discord.answered_privately": "🔒 Answered privately.",
    "link.private_only": (
        "Send /link in a private chat with me: whoever reads the code could take over your account."
    ),
    "link.code": (
        "🔗 Your code: {code}\nWithin {minutes} minutes, send /link {code} from your account on "
        "the other platform (Telegram or Discord): both become one, with the same follows, "
        "tokens and journeys. The code works once."
    ),
    "link.done": (
        "🔗 Done: this account and your {platform} account are one now — same follows, tokens "
        "and journeys."
    ),
    "unknown_command": "🤔 I don't know /{command}. Send /help to see what I can do.",
    "not_a_command": (
        "I answer commands. Send /help to see them, or /creators to discover creators."
    ),
    "button_expired": "That button no longer works. Send /help to start again.",
    "apology": "😕 Sorry, something went wrong on our side. Please try again in a moment.",
    "working": "⏳ Working on it…",
    "attachment_unused": (
        "Thanks! Files teach a creator's clone: creators can send .txt, .md or .pdf documents."
    ),
    "payment.received": "✅ Payment received. Minting your tokens now…",
    "payment.duplicate": "This payment was already received. Nothing more to do.",
    "payment.returned": (
        "This payment matches no open purchase (it was paid already, or is unknown), so it "
        "is being refunded in full."
    ),
    # --- creators & profiles -----------------------------------------------------------------
    "creators.title": "🔎 Creators",
    "creators.title_niche": "🔎 Creators in “{niche}”",
    "creators.line": "• {name} (@{handle}) — {followers} · {niches}",
    "creators.none": "No creators yet. Be the first: /register NAME | EMAIL | NICHE",
    "creators.none_niche": "No creators in “{niche}” yet. Try /creators to see everyone.",
    "creators.footer": "Tap one to open the profile, or send /creator HANDLE.",
    "profile.header": "{name} (@{handle})",
    "profile.bio": "{bio}",
    "profile.no_bio": "(no bio yet)",
    "profile.niches": "Niches: {niches}",
    "profile.counts": "👥 {followers} · 📚 {content} content",
    "profile.avatar": "🖼 {url}",
    "profile.following": "✅ You follow this creator.",
    "profile.owner": "✏️ This is you. Edit with /profile bio|niche|avatar …",
    "profile.inactive": "This creator is not active right now.",
    "profile.updated": "✅ Profile updated.",
    "followers.one": "1 follower",
    "followers.many": "{count} followers",
    # --- following ---------------------------------------------------------------------------
    "follow.done": "✅ You now follow {name} (@{handle}). They have {followers}.",
    "unfollow.done": "👋 You no longer follow {name} (@{handle}).",
    "following.title": "You follow:",
    "following.line": "• {name} (@{handle}) — {followers}",
    "following.none": "You don't follow anyone yet. Find creators with /creators.",
    # --- registration ------------------------------------------------------------------------
    "register.done": (
        "🎉 You're a creator now: {name} (@{handle}).\n"
        "Fans can find you with /creator {handle}.\n"
        "Next: add a bio with /profile bio TEXT."
    ),
    # --- tokens ------------------------------------------------------------------------------
    "token.created": "🪙 ${symbol} is live: {price} a token.\nContract: {address}",
    "wallet.custodial": "👛 Your wallet (kept for you by ONE): {address}",
    "wallet.linked": "🔗 Linked wallet: {address}",
    "wallet.challenge": (
        "To link {address}, sign this exact message with that wallet (personal_sign):\n\n"
        "{message}\n\nThen send /wallet {address} SIGNATURE"
    ),
    "wallet.link_done": "🔗 Linked: {address}. It now shows in /wallet.",
    "balance.title": "💰 Your tokens:",
    "balance.line": "• {amount} ${symbol} of @{handle} — {value} · {chain}",
    "balance.none": "You hold no tokens yet. Creators with a token show it on their profile.",
    "balance.chain_agrees": "on chain ✓",
    "balance.chain_differs": "on chain: {on_chain} (catching up)",
    "balance.chain_unknown": "chain unreachable right now",
    # --- events ------------------------------------------------------------------------------
    "events.title": "📜 Latest activity for @{handle}:",
    "events.line": "• {at} — {what}",
    "events.none": "No activity yet.",
    "event.creator_created": "profile created",
    "event.creator_updated": "profile updated ({fields})",
    "event.user_engaged.followed": "{actor} followed you",
    "event.user_engaged.unfollowed": "{actor} unfollowed you",
    "event.other": "{type}",
    "event.someone": "someone",
    # --- errors a person can fix -------------------------------------------------------------
    # --- buying tokens ------------------------------------------------------------------------
    "buy.checkout": "🛒 {amount} ${symbol} of @{handle} for {price} (purchase #{purchase_id}).",
    "buy.choose": "Choose how to pay:",
    "buy.sandbox": "🧪 Sandbox: no real money. The checkout page takes a test card.",
    "buy.pay_card": "💳 Pay {price} by card",
    "buy.pay_stars": "⭐ Pay {stars} Stars",
    "buy.after": "Your tokens arrive here as soon as the payment is confirmed.",
    "buy.invoice_description": "{amount} ${symbol} of @{handle}, minted to your ONE wallet.",
    "buy.invoice_fallback": (
        "⭐ Pay {stars} Stars for {amount} ${symbol} (purchase #{purchase_id})."
    ),
    "purchase.completed": (
        "🎉 {amount} ${symbol} are yours (purchase #{purchase_id}). See them with /balance."
    ),
    "purchase.refunded": (
        "↩️ We could not mint your {amount} ${symbol} (purchase #{purchase_id}), so your "
        "payment was refunded in full. Sorry about that."
    ),
    "purchase.clawed_back": (
        "↩️ The payment for purchase #{purchase_id} was refunded or disputed, so "
        "{clawed_back} ${symbol} were taken back from your wallet."
    ),
    "error.prefix": "⚠️ {message}",
    "error.domain": "That can't be done.",
    "error.creator_not_found": "🔍 No creator @{handle}. Check the spelling, or browse /creators.",
    "error.already_following": "You already follow @{handle}. See everyone you follow: /following",
    "error.not_following": "You don't follow @{handle}, so there is nothing to undo.",
    "error.cannot_follow_self": "That's your own profile (@{handle}): you can't follow yourself.",
    "error.not_a_creator": (
        "This is for creators. Become one with /register NAME | EMAIL | NICHE, NICHE"
    ),
    "error.access_denied": "⛔ Only the creator who owns this profile can do that.",
    "error.already_registered": "You're already registered as @{handle}. See it with /profile.",
    "error.email_taken": "The email {email} is already registered. Use another one.",
    "error.token_already_created": "You already have a token: ${symbol}. See /balance.",
    "error.symbol_taken": "The symbol ${symbol} is taken. Pick another (2 to 8 letters).",
    "error.no_wallet_challenge": (
        "There is no link pending for {address} (or it expired). Send /wallet {address} first."
    ),
    "error.wallet_signature_invalid": (
        "That signature was not made by {address} over the message I sent. Nothing was linked."
    ),
    "error.no_token": "@{handle} has no token yet, so there is nothing to buy.",
    "error.purchase_not_found": "There is no such purchase. Start one with /buy HANDLE AMOUNT.",
    "error.purchase_not_payable": (
        "That purchase can't be paid now: it was paid already, it isn't yours, or its price "
        "changed. Start a new one with /buy."
    ),
    "error.amount_not_payable": (
        "That total can't be paid in one payment here: buy between {least:,} and {most:,} "
        "tokens at a time."
    ),
    "error.payment_unavailable": "Payments are not available here right now. Nothing was charged.",
    "error.insufficient_tokens": "You don't have enough tokens for that ({needed} needed).",
    "error.clone_locked": (
        "🔒 @{handle}'s clone talks to holders of at least {needed} ${symbol}; you hold {held}."
    ),
    "error.clone_unavailable": (
        "@{handle}'s clone is for token holders, and @{handle} has no token yet."
    ),
    "error.too_many_messages": (
        "⏳ That's {limit} messages in {seconds} seconds, the most clones take. "
        "Try again in {wait} s."
    ),
    "error.nothing_to_rate": (
        "You can rate @{handle} once their journey asks you to (see /journey)."
    ),
    "error.not_chatting": "You're not chatting with a clone. Start with /chat HANDLE.",
    "error.roles_outside_server": (
        "Use /gate in your Discord server, where the role is (not in a DM)."
    ),
    "error.roles_not_allowed": (
        "Only someone who may manage this server's roles (Manage Roles) can gate one, and only "
        "a role below their own highest and below the bot's: not @everyone, not a bot's or an "
        "admin role."
    ),
    "error.link_code_invalid": (
        "That is not a link code, or it was used already. Send /link on your other account "
        "for a new one."
    ),
    "error.link_already_linked": (
        "That person has a {platform} account joined already: one per platform."
    ),
    "error.link_code_expired": (
        "That code has expired. Send /link on your other account for a new one."
    ),
    "error.link_own_code": (
        "That code is this account's own: type it on your other account (Telegram or Discord)."
    ),
    "error.link_same_platform": (
        "That code was made on {platform}: type it on your account on the other platform."
    ),
    "error.link_would_lose_data": (
        "This account already has follows, tokens or journeys of its own, and joining it would "
        "set them aside. Send /link here instead and type the code on {platform}."
    ),
    "error.answer_interrupted": (
        "The answer was cut off: the AI model stopped responding. Nothing was charged; "
        "please ask again."
    ),
    "error.knowledge_not_found": (
        "There is no knowledge item #{document_id} of yours. See /knowledge list."
    ),
    "error.document_refused": "I can't learn from {name}.",
    "error.document_too_large": "{name} is too large: send files up to {limit_mb} MB.",
    "error.document_unsupported": (
        "I can't learn from {name}: send a .txt, .md or .pdf file (creators only)."
    ),
    "error.document_unreadable": (
        "I couldn't read any text in {name}. Is it a scan, damaged or password-protected? "
        "Try a .txt or a text PDF."
    ),
    "invalid.name_required": "Please give a name, e.g. Alice Smith.",
    "invalid.email_required": "Please give an email address, e.g. alice@example.com.",
    "invalid.email_invalid": "“{value}” is not a valid email address, e.g. alice@example.com.",
    "invalid.niches_required": "Please give at least one niche, e.g. fitness, cooking.",
    "invalid.too_many_niches": "That's {count} niches; the limit is {limit}.",
    "invalid.niche_invalid": (
        "“{value}” is not a valid niche: use letters, digits, spaces or - & + . "
        "(at most {limit} characters)."
    ),
    "invalid.too_long": "The {field} is too long ({length} characters); the limit is {limit}.",
    "invalid.control_characters": "The {field} contains characters that can't be shown.",
    "invalid.handle_invalid": (
        "“{value}” is not a handle. Handles look like alice or alice_smith2 (an @ is optional)."
    ),
    "invalid.url_invalid": "“{value}” is not a web link. Use one starting with https://",
    "invalid.limit_invalid": "Ask for between 1 and {limit}.",
    "invalid.address_invalid": "“{value}” is not a wallet address (0x and 40 hex digits).",
    "invalid.amount_invalid": (
        "“{value}” is not an amount you can buy: use a whole number from 1 to {maximum:,}."
    ),
    "invalid.number_invalid": "“{value}” is not a whole number from {least} to {most:,}.",
    "invalid.temperature_invalid": (
        "“{value}” is not a temperature: use a number from 0 to 2, e.g. 0.7."
    ),
    "invalid.text_required": "Please add the text after the command.",
    "invalid.step_invalid": "“{value}” is not a step. The steps: {steps}.",
    "invalid.hours_invalid": "“{value}” is not a wait: give hours from 0 to 2160, e.g. 24 or 0.5.",
    "invalid.symbol_invalid": "“{value}” is not a symbol: use 2 to 8 letters, e.g. ALICE.",
    "invalid.price_invalid": (
        "“{value}” is not a price: use dollars above 0 with at most 2 decimals, e.g. 1.50 "
        "(at most 10000)."
    ),
    # --- AI clones ----------------------------------------------------------------------------
    "clone.title": "🤖 The AI clone of {name} (@{handle})",
    "clone.persona": "Persona: {persona}",
    "clone.no_persona": "Persona: (none yet: set one with /clone persona TEXT)",
    "clone.economics": (
        "Fans need {gate} ${symbol} to talk to it · an answer costs {cost} · earns {reward}"
    ),
    "clone.economics_no_token": (
        "Fans can talk to it once you create your token with /token (or open it to everyone "
        "with /clone gate 0)."
    ),
    "clone.open_no_token": "Open to everyone, for free (you have no token).",
    "clone.temperature": "Temperature: {temperature}",
    "clone.stats": "📊 {answers} · {charged} tokens charged · {rewarded} rewarded",
    "answers.one": "1 answer",
    "answers.many": "{count} answers",
    "chunks.one": "1 chunk",
    "chunks.many": "{count} chunks",
    "clone.knowledge": "📚 {documents} knowledge items (/knowledge list)",
    "clone.model": "🧠 Model: {model}",
    "clone.offline": "🧠 No AI model connected: it answers by quoting your knowledge.",
    "clone.updated": "✅ Clone updated.",
    "clone.try": "Try it yourself: /ask {handle} …",
    "chat.started": (
        "💬 You're chatting with @{handle}'s AI clone. Just write your messages; "
        "/end stops the chat."
    ),
    "chat.started_in_server": (
        "💬 You're chatting with @{handle}'s AI clone. Write to me in a direct message to "
        "talk; /end stops the chat."
    ),
    "chat.ended": "👋 Your chat with @{handle}'s clone has ended.",
    "chat.button_end": "✋ End chat",
    "chat.button_chat": "💬 Chat with @{handle}",
    "chat.button_buy": "🪙 Buy {amount} ${symbol}",
    "answer.sources": "📚 From: {sources}",
    "answer.reward": "🪙 +{amount} ${symbol} for this chat",
    "answer.cost": "🪙 −{amount} ${symbol} for this answer",
    "answer.capped": "(today's chat rewards from @{handle} are used up)",
    "answer.offline": (
        "📚 Offline answer: no AI model is connected, so here is what @{handle} wrote about it:"
    ),
    "answer.model_failed": (
        "📚 The AI model is unreachable right now, so here is what @{handle} wrote about it:"
    ),
    "answer.quote": "“{quote}”\n— {title}",
    "answer.nothing": "@{handle} hasn't written anything about that yet.",
    # --- knowledge ---------------------------------------------------------------------------
    "knowledge.title": "📚 What @{handle}'s clone knows (newest first):",
    "knowledge.line": "• #{id} {title} — {chunks}, {size} · {source}",
    "knowledge.line_incomplete": "• #{id} {title} — incomplete (remove it and add it again)",
    "knowledge.none": (
        "Your clone knows nothing yet. Teach it with /knowledge add TEXT, or send a document "
        "(.txt, .md, .pdf)."
    ),
    "knowledge.reading": "📥 Reading {name}…",
    "knowledge.progress": "📥 Learning {name}: {percent}% ({done} of {total} chunks)",
    "knowledge.added": (
        "✅ Learned #{id} “{title}” ({chunks}). Your clone uses it from now on.\n"
        "See everything with /knowledge list."
    ),
    "knowledge.removed": "🗑 Forgot #{id} “{title}”.",
    "knowledge.source_text": "typed",
    "knowledge.characters": "{count:,} characters",
    # --- journeys ------------------------------------------------------------------------------
    "journey.fan_title": "🧭 Your journeys:",
    "journey.fan_none": "You have no journeys yet: follow a creator to start theirs (/creators).",
    "journey.fan_line": "• @{handle}: step {step} of {total} — next: {next}, {at}",
    "journey.fan_line_done": "• @{handle}: complete 🎉",
    "journey.fan_line_ended": "• @{handle}: ended at the unlock step",
    "journey.fan_line_stopped": "• @{handle}: stopped (you opted out)",
    "journey.fan_line_failed": "• @{handle}: interrupted by a problem on our side",
    "journey.step.hook": "a question about your goals",
    "journey.step.gift": "your insights report",
    "journey.step.identify": "unlocking the full journey",
    "journey.step.engage": "meeting the AI clone",
    "journey.step.sell": "what holders get",
    "journey.step.nurture": "a check-in",
    "journey.step.upsell": "going all in",
    "journey.step.understand": "your rating",
    "journey.step.share": "your share link",
    "journey.step.done": "—",
    "journey.creator_title": "🧭 The journey of @{handle} (waits in hours, after the step before):",
    "journey.on": "On: new followers start it.",
    "journey.off": "Off: new followers don't start it (/journey on).",
    "journey.creator_line": "{n}. {step} — after {hours} h",
    "journey.creator_hint": "Change one: /journey STEP text TEXT · /journey STEP wait HOURS",
    "journey.turned_on": "✅ Your journey starts for new followers.",
    "journey.turned_off": "✅ Your journey no longer starts for new followers.",
    "journey.updated": "✅ The {field} of “{step}” is updated. See it with /journey.",
    "journey.stopped": "🔕 No more journey messages from {handles}. You still follow them.",
    "journey.stop_none": "You have no journey running. Nothing to stop.",
    "journey.rated": "🙏 Thanks! You rated @{handle} {stars}. Anything to add? Just reply.",
    "journey.feedback_thanks": "🙏 Thanks, @{handle} will read it.",
    "journey.analysis": "🔎 Your free analysis from @{handle}'s clone:\n\n{analysis}",
    "journey.analysis_offline": (
        "🔎 Here is what @{handle} wrote that fits your goals:\n\n{analysis}"
    ),
    "journey.analysis_later": "Thanks! @{handle} will take it from here in your next messages.",
    # --- broadcasts & outbox messages -------------------------------------------------------
    "cmd.broadcast": "Send a message to all your followers",
    "syntax.broadcast": "/broadcast TEXT",
    "usage.broadcast": (
        "/broadcast TEXT — send TEXT to all your followers, e.g. /broadcast New video is out! "
        "(up to 2,000 characters)"
    ),
    "broadcast.message": "📣 {name} (@{handle}):\n\n{text}",
    "broadcast.sending": "📣 Sending to {followers}…",
    "broadcast.progress": "📣 Sent {sent} of {total}…",
    "broadcast.done": (
        "📣 Done: sent to {sent} of {total}. Unreachable: {unreachable} (they blocked the bot "
        "or never opened a chat with it). Failed: {failed}."
    ),
    "broadcast.still_sending": "📣 Sent {sent} of {total} so far; the rest are on their way.",
    "broadcast.no_followers": (
        "You have no followers yet, so there is no one to send it to. "
        "Fans find you with /creator {handle}."
    ),
    "broadcast.all_opted_out": (
        "No one got it: your {followers} turned off your messages (/stop)."
    ),
    "journey.button.buy": "🪙 Buy {amount} ${symbol}",
    "journey.button.chat": "💬 Talk to @{handle}'s clone",
    "journey.button.rate": "{stars}",
    "journey.button.share": "📤 Share with a friend",
    "journey.button.profile": "👤 @{handle}'s profile",
    # --- console frontend --------------------------------------------------------------------
    "console.banner": (
        "one-bot console — you are “{person}”. /as NAME switches person, /help lists "
        "commands, a number presses a button, /file PATH sends a document, Ctrl-D quits."
    ),
    "console.as": "You are now “{person}”.",
    "console.as_usage": "/as NAME — e.g. /as alice",
    "console.file_usage": "/file PATH — send a document from this computer, e.g. /file notes.md",
    "console.no_such_button": "There is no button {number} on the last message.",
    "console.edited": "(edited)",
    "console.media": "[{kind}: {name}, {size} bytes]",
    "console.bye": "Bye!",
    "console.invoice": "[invoice: {title} — {amount} {currency}]",
    "console.invoice_telegram_only": "This payment works on Telegram only.",
    "console.push": "🔔 For {person}:",
}

_CATALOGUES: dict[str, Mapping[str, str]] = {"en": EN}


def t(key: str, locale: str = "en", /, **params: object) -> str:
    """The sentence ``key`` in ``locale`` (English if missing there), filled with ``params``."""
    template = _CATALOGUES.get(locale, EN).get(key) or EN[key]
    return template.format(**params) if params else template


def followers(count: int, locale: str = "en") -> str:
    return plural("followers", count, locale)


def plural(key: str, count: int, locale: str = "en") -> str:
    """``key.one`` for 1, ``key.many`` (with ``{count}``) otherwise."""
    return t(f"{key}.one", locale) if count == 1 else t(f"{key}.many", locale, count=count)


def dollars(cents: int) -> str:
    """Cents as a dollar amount: 150 → "$1.50"."""
    return f"${cents // 100:,}.{cents % 100:02d}"
