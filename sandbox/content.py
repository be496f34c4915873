"""What people write to the brand: templated, slot-filled posts for every department, and people.

Everything here is a pure function of a ``random.Random`` handed in by the world, so the same
seed gives the same text. Posts are composed as the plain text a person types (with ``@handle``,
``#tag`` and URLs in it) and then rendered to HTML the way Mastodon's formatter does
(:func:`render_html`), so escaping, h-cards, hashtag anchors and shortened links are all real.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

KINDS: tuple[str, ...] = ("support", "praise", "press", "careers", "legal", "safety", "spam")
"""What a mention is about, i.e. which department should see it (never in the payload)."""

LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt")

_KIND_WEIGHTS: tuple[float, ...] = (0.33, 0.27, 0.07, 0.08, 0.07, 0.06, 0.12)
_LANG_WEIGHTS: tuple[float, ...] = (0.84, 0.05, 0.04, 0.04, 0.03)

# --------------------------------------------------------------------------------------------
# Slot pools. A template names slots as {drink}, {store}, ...; `at` is the brand mention,
# `brand`/`short`/`btag` the brand's name, full, short and as a hashtag word.
# --------------------------------------------------------------------------------------------

_DRINKS = (
    "latte",
    "oat latte",
    "flat white",
    "cortado",
    "cappuccino",
    "cold brew",
    "iced americano",
    "chai latte",
    "mocha",
    "caramel macchiato",
    "pumpkin spice latte",
    "matcha latte",
    "double espresso",
    "hot chocolate",
    "nitro cold brew",
    "honey lavender latte",
    "decaf americano",
    "maple pecan latte",
    "iced vanilla latte",
    "filter coffee",
)
_FOOD = (
    "blueberry muffin",
    "almond croissant",
    "banana bread",
    "breakfast sandwich",
    "egg bites",
    "cinnamon roll",
    "avocado toast",
    "vegan brownie",
    "ham & cheese toastie",
    "lemon loaf",
    "pain au chocolat",
    "oat cookie",
    "bagel with cream cheese",
    "carrot cake",
)
_MILKS = ("oat milk", "almond milk", "soy milk", "skim", "coconut milk", "lactose-free milk")
_ALLERGENS = ("nuts", "peanuts", "dairy", "gluten", "sesame", "soy", "eggs", "tree nuts")
_PHONES = ("iPhone 15", "iPhone 13 mini", "Pixel 8", "Galaxy S23", "Fairphone 5", "OnePlus 12")
_ROLES = (
    "barista",
    "shift supervisor",
    "store manager",
    "roaster",
    "delivery driver",
    "assistant manager",
    "barista trainer",
    "pastry chef",
)
_OUTLETS = (
    "Metro Daily",
    "the Harbour Gazette",
    "City Beat",
    "The Morning Ledger",
    "Brew Business Weekly",
    "KXRT News",
    "The Counter Report",
    "FoodWire",
    "the Daily Grind podcast",
    "Tech Pulse",
    "Retail Dive Weekly",
    "Northside Radio",
)
_TOPICS = (
    "price rises across coffee chains",
    "oat milk surcharges",
    "the new loyalty app",
    "store closures in the city centre",
    "your sustainability pledge",
    "barista wages and tipping",
    "the union vote",
    "single-use cups",
    "the recall of the almond syrup",
    "your supply chain in Colombia",
    "the app outage last weekend",
    "the autumn menu launch",
)
_FIRST = (
    "Maya",
    "Jonas",
    "Priya",
    "Liam",
    "Sofia",
    "Tom",
    "Aisha",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farah",
    "Gus",
    "Hana",
    "Isaac",
    "Jade",
    "Kofi",
    "Lena",
    "Marco",
    "Nina",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Vik",
    "Wren",
    "Yusuf",
    "Zoe",
    "Mateo",
    "Camille",
    "Lukas",
    "Beatriz",
    "Ines",
    "Hugo",
    "Greta",
    "Joana",
    "Noah",
)
_LAST = (
    "Okafor",
    "Lindqvist",
    "Patel",
    "Murphy",
    "Rossi",
    "Nguyen",
    "Kowalski",
    "Garcia",
    "Dubois",
    "Schmidt",
    "Silva",
    "Tanaka",
    "Haddad",
    "O'Brien",
    "Fischer",
    "Moreau",
    "Costa",
    "Andersen",
    "Reyes",
    "Byrne",
    "Novak",
    "Whitfield",
    "Achebe",
    "Larsen",
)
_WORDS = (
    "latteart",
    "espressonerd",
    "beanwatcher",
    "cyclist",
    "nightowl",
    "bookworm",
    "dev",
    "runner",
    "sourdough",
    "plantmum",
    "mossy",
    "tinkerer",
    "photog",
    "synthwave",
    "birder",
    "linuxfan",
    "knits",
    "hiker",
    "cat_person",
    "foodie",
)
_REMOTE_DOMAINS = (
    "mastodon.example",
    "fosstodon.example",
    "hachyderm.example",
    "chaos.example",
    "mstdn.example",
    "toot.example",
    "norden.example",
    "piaille.example",
    "social.cafe.example",
    "masto.pt.example",
)

_SLOTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "city": (
            "Portland",
            "Seattle",
            "Manchester",
            "Leeds",
            "Dublin",
            "Toronto",
            "Austin",
            "Denver",
            "Bristol",
            "Edinburgh",
            "Chicago",
            "Boston",
            "Melbourne",
            "Vancouver",
            "Minneapolis",
            "Glasgow",
            "Brooklyn",
            "Oakland",
        ),
        "street": (
            "Elm Street",
            "Market St",
            "Harbour Road",
            "5th Avenue",
            "Station Square",
            "Queen Street",
            "Pine & 3rd",
            "Riverside",
            "Union Station",
            "High Street",
            "Kings Cross",
            "Maple Ave",
            "University Ave",
            "Old Town",
        ),
        "time": (
            "this morning",
            "at 7:40",
            "around 8am",
            "during the lunch rush",
            "just now",
            "an hour ago",
            "yesterday afternoon",
            "at 6:15 this morning",
            "on my way to work",
            "right before closing",
            "on Saturday",
        ),
        "price": ("$5.40", "$6.95", "£4.10", "£3.85", "$7.25", "$4.60"),
        "opener": ("", "", "", "Hey,", "Hi,", "Ugh.", "Seriously,", "Not again.", "Quick one:"),
        "closer": (
            "",
            "",
            "",
            "Not impressed.",
            "Please sort this out.",
            "😤",
            "Thanks in advance!",
            "Any help appreciated.",
            "Come on.",
            "🙃",
            "Really disappointed tbh.",
        ),
        "praise_opener": ("", "", "", "Hey,", "Okay,", "PSA:", "Honestly,"),
        "praise_closer": ("", "", "", "☕", "❤️", "Thank you!", "You're the best.", "🙌", "10/10"),
    },
    "es": {
        "city": ("Madrid", "Barcelona", "Sevilla", "Valencia", "Ciudad de México", "Bogotá"),
        "street": ("Gran Vía", "la calle Mayor", "Sol", "Paseo de Gracia", "la Castellana"),
        "time": ("esta mañana", "a las 8", "hace una hora", "ayer por la tarde", "al mediodía"),
        "price": ("4,20 €", "3,90 €", "5,10 €"),
        "opener": ("", "", "Hola,", "Buenos días,", "En serio,"),
        "closer": ("", "", "Gracias.", "😡", "Espero respuesta."),
        "praise_opener": ("", "", "¡Hola!", "Bueno,"),
        "praise_closer": ("", "", "¡Gracias!", "❤️", "☕"),
    },
    "fr": {
        "city": ("Paris", "Lyon", "Marseille", "Bordeaux", "Lille", "Montréal", "Bruxelles"),
        "street": ("de la rue de Rivoli", "de Bellecour", "de la gare Saint-Lazare", "de Châtelet"),
        "time": ("ce matin", "à 8h", "il y a une heure", "hier soir", "à midi"),
        "price": ("4,50 €", "3,80 €", "5,20 €"),
        "opener": ("", "", "Bonjour,", "Sérieusement,", "Franchement,"),
        "closer": ("", "", "Merci.", "😤", "Merci d'avance !", "Inadmissible."),
        "praise_opener": ("", "", "Bonjour,", "Franchement,"),
        "praise_closer": ("", "", "Merci !", "❤️", "☕", "Bravo !"),
    },
    "de": {
        "city": ("Berlin", "Hamburg", "München", "Köln", "Wien", "Zürich", "Leipzig"),
        "street": (
            "in der Friedrichstraße",
            "am Hauptbahnhof",
            "an der Königsallee",
            "am Marktplatz",
        ),
        "time": ("heute Morgen", "um 8 Uhr", "vor einer Stunde", "gestern Nachmittag"),
        "price": ("4,60 €", "3,90 €", "5,30 €"),
        "opener": ("", "", "Hallo,", "Moin,", "Ernsthaft,"),
        "closer": ("", "", "Danke.", "😤", "Bitte um Rückmeldung.", "Schade."),
        "praise_opener": ("", "", "Moin,", "Hallo,"),
        "praise_closer": ("", "", "Danke!", "❤️", "☕", "Weiter so!"),
    },
    "pt": {
        "city": ("Lisboa", "Porto", "Coimbra", "São Paulo", "Rio de Janeiro", "Braga"),
        "street": ("Avenida da Liberdade", "Rua Augusta", "Avenida Paulista", "Rossio"),
        "time": ("hoje de manhã", "às 8h", "há uma hora", "ontem à tarde"),
        "price": ("3,80 €", "R$ 18,90", "4,10 €"),
        "opener": ("", "", "Olá,", "Bom dia,", "Sério,"),
        "closer": ("", "", "Obrigado.", "😤", "Aguardo resposta."),
        "praise_opener": ("", "", "Olá,", "Bom dia,"),
        "praise_closer": ("", "", "Obrigada!", "❤️", "☕", "Top!"),
    },
}

_LOCAL_DRINKS: dict[str, tuple[str, ...]] = {
    "es": ("café con leche", "cortado", "latte", "cappuccino", "cold brew", "americano"),
    "fr": ("café crème", "noisette", "latte", "cappuccino", "flat white", "chocolat chaud"),
    "de": ("Milchkaffee", "Latte Macchiato", "Cappuccino", "Flat White", "Cold Brew"),
    "pt": ("galão", "café", "latte", "cappuccino", "cold brew", "abatanado"),
}

_LOCAL_FOOD: dict[str, tuple[str, ...]] = {
    "es": ("croissant", "bocadillo de jamón", "muffin", "brownie", "bizcocho"),
    "fr": ("croissant", "pain au chocolat", "cookie", "muffin", "cake au citron"),
    "de": ("Croissant", "Franzbrötchen", "Käsekuchen", "Bagel", "Muffin", "Schokobrötchen"),
    "pt": ("pastel de nata", "croissant", "bolo de laranja", "queque", "pão de queijo"),
}
_FOREIGN_STORE: dict[str, str] = {
    "es": "la tienda de {street}",
    "fr": "la boutique {street}",
    "de": "der Filiale {street}",
    "pt": "loja {short} {street}",
}

_TAGS: dict[str, tuple[str, ...]] = {
    "support": ("#fail", "#customerservice", "#coffee", "#mondays", "#{short}Fail", "#refund"),
    "praise": (
        "#coffee",
        "#latteart",
        "#coffeetime",
        "#{btag}",
        "#{short}Moments",
        "#flatwhite",
        "#coffeelover",
        "#MastoCoffee",
        "#breakfast",
        "#caffeine",
    ),
    "press": ("#journalism", "#business", "#retail", "#news"),
    "careers": ("#hiring", "#jobs", "#barista", "#GetFediHired", "#workersrights", "#union"),
    "legal": ("#privacy", "#GDPR", "#trademark", "#legal"),
    "safety": ("#allergy", "#foodsafety", "#urgent", "#databreach"),
    "spam": ("#crypto", "#giveaway", "#followback", "#deals", "#SQL", "#sailing"),
}

# --------------------------------------------------------------------------------------------
# Templates. Posts are plain text as typed; "\n\n" starts a paragraph, "\n" is a line break.
# A template without {at} gets the mention put in front or at the end.
# Templates marked with a leading "📷" come with a photo attachment (the rest of the line is
# the alt text, after "|").
# --------------------------------------------------------------------------------------------

_EN: dict[str, tuple[str, ...]] = {
    "support": (
        "{at} my {drink} was stone cold {time} at {store}. Third time this month.",
        "{at} ordered a {drink} with {milk} through the app and got regular milk. "
        "I'm lactose intolerant, this isn't a preference.",
        "waited {minutes} minutes for a {drink} at {store} {time}. {minutes} MINUTES. {at}",
        "{at} wrong order again. Asked for a {drink}, got a {drink2}. Order #{order}.",
        "{at} how do I get a refund for order {order}? Charged twice, {price} each.",
        "{at} your app crashes every time I open the rewards tab. {phone}, app {app_version}.",
        "{at} the app logged me out and now my {points} loyalty points are gone?? "
        "Been collecting since spring.",
        "{at} does the {food} contain {allergen}? The website doesn't list allergens "
        "and the staff at {store} didn't know.",
        "{at} can you confirm whether the {drink} syrups are {allergen}-free? "
        "My kid has a severe allergy and I want to be sure before we come in.",
        "{at} mobile order said ready {time}, got there and nobody had even started it. "
        "Had to leave for my train without it.",
        "Hey {at} the card reader at {store} has been broken for a week, cash only. "
        "Who carries cash in {year}?",
        "{at} my {food} was stale and the {drink} tasted burnt. {price} for that. Refund please.",
        "{at} I was charged {price} for an oat milk upgrade that was never added. Small thing, "
        "but it adds up.",
        "{at} the gift card my mum gave me shows a balance of $0. It was never used. "
        "Card ends in {last4}.",
        "{at} why does the app keep saying 'store unavailable' for {store}? It's open, "
        "I'm standing in it.",
        "{at} got a {drink} with a hair in it at {store} {time}. Photo available. Gross.",
        "{at} is the {street} location closed permanently? Google says open, doors say no.",
        "{at} my loyalty tier dropped from Gold to Silver overnight and support chat just "
        "loops. Can a human help?",
        "{at} password reset email never arrives. Checked spam. Tried three times.",
        "{at} the barista at {store} was really rude to an elderly customer {time}. Not okay.",
        "{at} toilets at {store} have been out of order for days. Not great when you "
        "sell diuretics 😅",
        "{at} delivery order {order} arrived {minutes} minutes late, lid off, half the {drink} "
        "in the bag.",
        "{at} I've emailed support three times about order {order}, no reply. "
        "What's the fastest way to reach someone?",
        "{at} the app charged me but the order never went through. Bank shows pending {price}.",
        "{at} the new cups leak. Every. Single. Time. My shirt is ruined.",
        "{at} please bring back the {food}, the new recipe is dry.",
        "{at} why is {milk} 80 cents extra when it's cheaper than dairy where I live?",
        "Complaint thread 🧵 {at}\n\n1. {drink} cold\n2. {food} missing from the order\n"
        "3. Nobody at the counter for {minutes} minutes",
        "{at} my refund for order {order} was approved {days} days ago and still hasn't "
        "arrived. Who do I talk to?",
        "{at} the app won't accept my card anymore, error code NW-{last4}. Screenshot: {link}",
        "{at} the Wi-Fi at {store} requires an account AND a phone number now? Why?",
    ),
    "praise": (
        "Shoutout to {staff} at {store} who remembered my order after one visit. {at} you've "
        "got a gem there ☕",
        "{at} the new {drink} is SO good. Might have had two today. {tags}",
        "📷 {at} latte art level: expert. Thanks {staff}! {tags}|A {drink} with a tulip "
        "pattern in the foam, on a wooden table",
        "{at} your {food} is the only reason I get out of bed on Mondays {tags}",
        "Rainy day in {city}, warm {drink}, good book. {at} thank you for the cosy corner "
        "at {store} 🌧️📚",
        "{at} love that you finally have {milk} at no extra charge. Small things matter!",
        "📷 Morning ritual with {at} {tags}|Takeaway cup with a sleeve next to a laptop and a "
        "notebook",
        "{at} the staff at {store} handled the lunch rush like pros {time}. Respect.",
        "Suggestion for {at}: a {drink} with a shot of hazelnut would be amazing. Just saying 👀",
        "{at} idea: let us pre-order from the app for a specific pickup time. "
        "Would save me so much stress.",
        "{at} any chance the {drink} comes back for winter? Asking for me. {tags}",
        "Just joined the {short} Bean Club, already got a free {food}. {at} 🎉",
        "{at} {campaign} is genuinely fun, got my stamp card half full already {tags}",
        "📷 {at} the new {city} store looks gorgeous. Those windows! {tags}|Bright café "
        "interior with plants, big windows and wooden benches",
        "Been to coffee shops all over {city} and {at} still makes the best {drink}. Fight me.",
        "{at} thank you for the free refill when my cup got knocked over {time}. "
        "{staff} is a star ⭐",
        "{at} the {food} + {drink} combo is underrated {tags}",
        "{at} your baristas at {store} deserve a raise. Calm, friendly and fast.",
        "{at} could you do a decaf version of the {drink}? Would love it in the evening.",
        "Reviewing coffee chains on my blog this week, {at} came out top for the {drink}: {link}",
        "📷 {tags} first {drink} of the season at {at}|Iced drink in a clear cup with a green "
        "straw, held up against a blue sky",
        "{at} love the recyclable cups! Please also do a discount for bringing our own.",
        "Happy 5 years to the team at {store}! {at} you're part of my daily routine.",
        "{at} the playlist at {store} today was immaculate. What was that jazz record?",
        "{at} marketing idea: let regulars vote on the next seasonal drink {tags}",
        "Can we talk about how good the {brand} {food} is? {at} {tags}",
        "{at} the accessibility ramp at {store} is a small thing that made my day 💛",
        "{at} favourite place to work remotely in {city}. Good Wi-Fi, great {drink}.",
    ),
    "press": (
        "{at} Hi, I'm a reporter with {outlet} working on a story about {topic}. "
        "Could your press office get in touch? Deadline is {deadline}.",
        "{at} Journalist at {outlet} here. Can you comment on reports about {topic}? DMs open.",
        "Working on a piece for {outlet} about {topic}. {at} would you like to comment "
        "before we publish {deadline}?",
        "{at} Is it true you're closing {store}? Asking for {outlet}. We'd like a statement.",
        "{at} Hello from {outlet}! We're putting together a guide to the best coffee in {city} "
        "and would love to include you. Who's the right contact?",
        "{at} I'm hosting {outlet} and we'd love someone from {brand} on the show to talk "
        "about {topic}.",
        "New on {outlet}: {topic}. We reached out to {at} for comment. {link}",
        "{at} Can you confirm how many stores you operate in {city}? Fact-checking a story "
        "for {outlet}.",
        "{at} Press inquiry: are the figures about {topic} in today's leaked memo accurate? "
        "Filing {deadline}.",
        "{at} Hi! Freelance writer here, pitching a feature on {topic} to {outlet}. "
        "Any chance of an interview with your CEO?",
        "Thread: what we learned about {topic} 🧵\n\n{at} declined to comment. {link}",
        "{at} Producer at {outlet}: could we film at {store} on Thursday morning "
        "for a segment on {topic}?",
        "{at} Following up on my email to press@ about {topic}: could someone confirm receipt? "
        "({outlet})",
        "{at} your statement on {topic} doesn't match what staff told us. Care to clarify? "
        "— {outlet}",
        "{at} Student journalist at {city} Uni here, writing about {topic}. "
        "Is there someone I could ask three quick questions?",
    ),
    "careers": (
        "{at} are you hiring {role}s in {city}? I've got 3 years of experience and "
        "I love your {drink}.",
        "{at} applied for the {role} position at {store} two weeks ago, haven't heard back. "
        "Is it still open?",
        "{at} how do I apply for a {role} job? The careers page link is broken: {link}",
        "{at} do you sponsor visas for {role} roles? Moving to {city} next year.",
        "I've worked as a {role} at {store} for {years} years and we still don't get paid "
        "breaks on 6-hour shifts. {at} do better. {tags}",
        "{at} current employee here. The new scheduling app gives us shifts with 9 hours "
        "between close and open. That's not safe.",
        "{at} Had my interview for {role} {time}! Fingers crossed 🤞",
        "{at} is the {role} apprenticeship open to people over 25?",
        "Former {role} at {brand} here. AMA about working there. {at} {tags}",
        "{at} our store hasn't had a full team in weeks. {staff} and I are running the "
        "floor alone every morning. Please staff {store} properly.",
        "{at} I got an offer for {role} but nobody has sent the contract. Who should I contact?",
        "{at} do you have part-time {role} roles that fit around uni classes in {city}?",
        "{at} I was let go from {store} with no notice and haven't received my final paycheck.",
        "Baristas at {store} are organising. {at} recognise the union. {tags}",
        "{at} Is there an internship in marketing or social media? I'd love to work on "
        "accounts like this one 😊",
        "{at} my tips from the app haven't been paid out since last month. Who handles payroll?",
        "{at} can employees get the {drink} discount on the app too, or only in store?",
    ),
    "legal": (
        "{at} Your new logo is a direct copy of my registered design. My lawyer will be "
        "in touch. {link}",
        "{at} I slipped on an unmarked wet floor at {store} {time}. I'm consulting an attorney.",
        "{at} Under GDPR Article 15 I request a copy of all personal data you hold about me. "
        "Please confirm receipt within 30 days.",
        "{at} please delete my account and all associated data. I've asked twice by email. "
        "Next step is the data protection authority.",
        "{at} your loyalty app is sharing my location with third parties according to its "
        "privacy label. Is that legal? {tags}",
        "{at} you're using my photo of your {drink} in an ad without permission or credit. "
        "I own that image. {link}",
        "{at} Cease and desist: your '{campaign}' campaign infringes our trademark. "
        "Our counsel has written to your registered office.",
        "{at} The receipt at {store} printed my full card number. That's a PCI violation.",
        "{at} I'm filing a small claims case over order {order}. Who is your legal "
        "contact for service?",
        "{at} CCTV at {store} points straight at the customer toilets' corridor. "
        "That's a privacy issue.",
        "{at} you sent marketing emails after I unsubscribed. Reporting to the regulator. {tags}",
        "{at} Someone is running a fake {brand} giveaway account using your logo: {link} "
        "— thought your legal team should know.",
        "{at} Your franchise agreement clause 14 is unenforceable and we will challenge it. "
        "— {staff} {last}, franchisee, {city}",
        "{at} the recording at the drive-thru doesn't disclose it's recording. "
        "Is consent collected anywhere?",
        "{at} my data was in the breach notice email but you haven't said what was taken. "
        "I want answers in writing. {tags}",
        "{at} I'm the photographer behind the mural at {store}. Nobody asked me before "
        "printing it on your cups.",
    ),
    "safety": (
        "{at} URGENT: my son had an allergic reaction after a {food} from {store} {time}. "
        "It was labelled {allergen}-free. We're at the ER now.",
        "{at} I think I got food poisoning from the {food} at {store}. Me and two friends "
        "have been sick all night.",
        "{at} A ceiling panel fell at {store} {time} and hit a customer. Someone needs to "
        "close it NOW.",
        "{at} Your barista burned her hand badly on the steam wand at {store}, no first aid "
        "kit behind the counter. Please check on her.",
        "{at} the {drink} I got tasted of cleaning chemicals. My throat is burning. What is in it?",
        "{at} found a piece of glass in my {food} from {store}. Kept it and the receipt. "
        "Please pull the batch.",
        "{at} epipen used after your {drink}. Staff said no {allergen}, clearly wrong. "
        "This could have killed her.",
        "{at} your app just showed me someone else's name, address and order history. "
        "Is this a data breach?? {tags}",
        "{at} I received a password reset I didn't ask for and now my account shows "
        "orders in {city}. Looks like I've been hacked through your app.",
        "{at} gas smell at {store} right now, staff are still serving. Calling the fire "
        "department.",
        "{at} a customer collapsed at {store} {time} and nobody on staff knew first aid. "
        "Paramedics came. Train your people.",
        "{at} the floor at {store} is flooded near the outlets. Someone is going to "
        "get electrocuted.",
        "{at} your customer database is for sale on a forum, screenshot here: {link}. "
        "Thousands of emails and phone numbers.",
        "{at} my daughter chipped a tooth on something hard in the {food}. "
        "Dentist says it was metal.",
        "{at} raw chicken in the breakfast sandwich at {store}. Pink inside. Sent a photo "
        "to your support, no reply.",
        "{at} the hot water dispenser at {store} sprays boiling water, it just scalded "
        "a kid. Please fix it today.",
        "{at} third person in our office sick after the catering order from {store} "
        "yesterday. Same {food}.",
        "{at} I got a phishing email pretending to be you with my real loyalty number in it. "
        "Were you breached?",
    ),
    "spam": (
        "{at} 🔥 Grow your followers FAST 🔥 10k real followers for $9.99 → {link}",
        "{at} Congratulations! You've been selected for our crypto airdrop. "
        "Claim now: {link} {tags}",
        "{at} Hi dear, I am investor looking business partner, please DM me for good opportunity",
        "{at} follow back? {tags}",
        "{at} Does anyone know how to write a query against the Northwind sample "
        "database in SQL Server? Trying to join Orders and Customers. {tags}",
        "{at} is this the Northwind sailing club? When is the next regatta?",
        "Strong north wind forecast for {city} tonight, secure your bins! "
        "(sorry {at}, autocomplete)",
        "{at} the Northwind tour tickets are sold out?? Is there a waitlist for the {city} gig?",
        "{at} testing if this gets through: <script>alert(1)</script>",
        "Robert'); DROP TABLE mentions; -- says hi {at}",
        "{at} '; DROP TABLE mentions; -- lol what does your social team see now",
        "{at} <img src=x onerror=alert('nw')> 👀",
        "{at} {{{{7*7}}}} ${{7*7}} <b>bold?</b> just checking your dashboard escapes things",
        "Free {brand} gift cards!! Click here {link} {at} {tags}",
        "{at} i am a bot. beep. today's word is: marmalade",
        "{at} Northwind Traders still has the best sample data, change my mind {tags}",
        "{at} wrong account sorry, meant to tag the band",
        "{at} {at} {at} hello?",
        "{at} check my profile 💋",
        "{at} Win an iPhone! Just retweet, like and follow 👉 {link}",
        "{at} a 🧵 on why the earth is flat (1/47)",
        "{at} WEB3 COFFEE NFT DROP ☕🚀 mint yours before it's gone {link} {tags}",
    ),
}

_FOREIGN: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "support": (
            "{at} mi {drink} llegó frío {time} en {store}. Es la tercera vez este mes.",
            "{at} pedí {drink} con leche de avena y me lo dieron con leche normal. "
            "Soy intolerante a la lactosa.",
            "{at} ¿cómo pido un reembolso del pedido {order}? Me cobraron dos veces.",
            "{at} la app se cierra cada vez que abro mis puntos. ¿Alguna solución?",
            "{at} esperé {minutes} minutos por un {drink} en {city}. Inaceptable.",
            "{at} ¿el {food} lleva frutos secos? En la web no aparecen los alérgenos.",
            "{at} me equivocaron el pedido otra vez: pedí {drink} y me dieron {drink2}.",
            "{at} la tarjeta regalo aparece con saldo 0 y nunca la usé. ¿Qué hago?",
            "{at} el lector de tarjetas de {store} lleva una semana roto. Solo efectivo, en serio?",
        ),
        "praise": (
            "{at} el {drink} de {store} es el mejor de {city} ☕ #café",
            "Gracias a {staff} de {store} por la paciencia {time}. {at} ¡tenéis un equipo genial!",
            "{at} ¿para cuándo una tienda en {city}? ¡Os estamos esperando!",
            "📷 {at} mañana perfecta con un {drink} #café #desayuno|Taza de café con "
            "leche sobre una mesa de mármol",
            "{at} sugerencia: un {drink} con canela sería un éxito.",
            "{at} el equipo de {store} es un amor, siempre con una sonrisa {time} 💛",
            "Trabajando desde {store} con un {drink}. {at} el mejor wifi de {city} #café",
        ),
        "safety": (
            "{at} URGENTE: mi hija tuvo una reacción alérgica después de un {food} de {store}. "
            "Estamos en urgencias.",
            "{at} creo que me intoxiqué con el {food} de {store}. Llevo toda la noche enferma.",
        ),
        "careers": (
            "{at} ¿estáis contratando baristas en {city}? Tengo experiencia.",
            "{at} trabajo en {store} y llevamos semanas sin personal suficiente.",
        ),
        "press": (
            "{at} Hola, soy periodista de {outlet}. ¿Podrían comentar sobre la subida "
            "de precios? Gracias.",
        ),
        "legal": (
            "{at} Solicito el acceso a mis datos personales según el RGPD. "
            "Espero respuesta en 30 días.",
        ),
        "spam": (
            "{at} ¡Gana seguidores rápido! 🔥 {link}",
            "{at} ¿es esta la cuenta del club de vela Northwind? ¿Cuándo es la regata?",
        ),
    },
    "fr": {
        "support": (
            "{at} mon {drink} était froid {time} à {store}. Troisième fois ce mois-ci.",
            "{at} commande {order} jamais reçue mais bien débitée ({price}). "
            "Je veux être remboursé.",
            "{at} l'appli plante dès que j'ouvre mes points fidélité. Une idée ?",
            "{at} {minutes} minutes d'attente pour un {drink} à {city}, c'est une blague ?",
            "{at} est-ce que le {food} contient des fruits à coque ? Rien sur le site.",
            "{at} erreur de commande encore une fois : j'ai demandé un {drink}, reçu un {drink2}.",
            "{at} impossible de me connecter à l'appli depuis la mise à jour. {phone}.",
        ),
        "praise": (
            "{at} merci à {staff} de {store} pour son sourire {time} ☀️ #café",
            "{at} le meilleur {drink} de {city}, sans hésiter.",
            "{at} une suggestion : un {drink} à la cannelle pour l'hiver ?",
            "{at} l'équipe de {store} est adorable, service rapide même {time} 👏",
            "📷 Petit déjeuner parfait grâce à {at} #café #croissant|Un croissant et un "
            "café crème sur une table de bistrot",
        ),
        "safety": (
            "{at} URGENT : mon fils a fait une réaction allergique après un {food} de {store}. "
            "Nous sommes aux urgences.",
            "{at} intoxication alimentaire après le {food} d'hier. Trois personnes malades.",
        ),
        "careers": (
            "{at} vous recrutez des baristas à {city} ? J'ai envoyé ma candidature "
            "il y a deux semaines.",
        ),
        "press": (
            "{at} Bonjour, journaliste pour {outlet}. Pourriez-vous commenter "
            "la fermeture de {store} ?",
        ),
        "legal": (
            "{at} Je demande la suppression de mes données personnelles (RGPD, article 17). "
            "Merci de confirmer.",
        ),
        "spam": ("{at} Gagnez 1000 abonnés en 24h !! 🔥 {link}",),
    },
    "de": {
        "support": (
            "{at} mein {drink} war {time} in {store} eiskalt. Schon wieder.",
            "{at} Bestellung {order} doppelt abgebucht ({price}). Wie bekomme ich mein Geld "
            "zurück?",
            "{at} die App stürzt bei jedem Öffnen der Treuepunkte ab. {phone}.",
            "{at} {minutes} Minuten Wartezeit für einen {drink} in {city}. Geht's noch?",
            "{at} enthält euer {food} Nüsse? Auf der Website stehen keine Allergene.",
            "{at} falsche Bestellung bekommen, {drink} statt {drink2}. Bitte um Erstattung.",
            "{at} Gutscheinkarte zeigt 0 € Guthaben, wurde nie benutzt. Was nun?",
            "{at} Kartenzahlung in {store} geht seit Tagen nicht. Nur Bargeld? Im Ernst?",
        ),
        "praise": (
            "{at} danke an {staff} in {store} für den tollen Service {time}! #Kaffee",
            "{at} bester {drink} in {city}. Punkt.",
            "{at} Vorschlag: ein {drink} mit Zimt für den Winter wäre super.",
            "Regnerischer Tag in {city}, warmer {drink}, gutes Buch. Danke {at} ☕📚",
        ),
        "spam": ("{at} Kennt jemand die Northwind-Beispieldatenbank? Brauche Hilfe mit SQL #SQL",),
        "safety": (
            "{at} DRINGEND: allergische Reaktion nach einem {food} aus {store}. "
            "Wir sind in der Notaufnahme.",
            "{at} Lebensmittelvergiftung nach dem {food} von gestern. Wir sind zu dritt krank.",
        ),
        "careers": (
            "{at} sucht ihr Baristas in {city}? Ich hätte Interesse.",
            "{at} als Mitarbeiterin in {store}: wir sind seit Wochen unterbesetzt.",
        ),
        "legal": (
            "{at} Auskunftsersuchen nach Art. 15 DSGVO: bitte senden Sie mir alle über mich "
            "gespeicherten Daten.",
        ),
        "press": (
            "{at} Guten Tag, Redaktion {outlet}. Gibt es eine Stellungnahme zu den Preisen?",
        ),
    },
    "pt": {
        "support": (
            "{at} o meu {drink} veio frio {time} na {store}. Terceira vez este mês.",
            "{at} como peço o reembolso da encomenda {order}? Cobraram duas vezes.",
            "{at} a app fecha sempre que abro os pontos. Alguém ajuda?",
            "{at} esperei {minutes} minutos por um {drink} em {city}. Inaceitável.",
            "{at} o {food} tem frutos secos? O site não indica alergénios.",
            "{at} pedi um {drink} e veio um {drink2}. Outra vez. Encomenda {order}.",
            "{at} o cartão oferta aparece com saldo 0 e nunca foi usado. O que faço?",
        ),
        "praise": (
            "{at} obrigado à {staff} da {store} pela simpatia {time}! #café",
            "{at} o melhor {drink} de {city}, sem dúvida ☕",
            "{at} sugestão: um {drink} com canela para o inverno!",
            "Dia de chuva em {city}, um {drink} quentinho e um bom livro. Obrigada {at} ☕",
        ),
        "legal": (
            "{at} Peço a eliminação dos meus dados pessoais ao abrigo do RGPD. "
            "Aguardo confirmação.",
        ),
        "spam": ("{at} Ganhe seguidores já!!! 🔥 {link}",),
        "safety": (
            "{at} URGENTE: o meu filho teve uma reação alérgica depois de um {food} da {store}. "
            "Estamos nas urgências.",
        ),
        "careers": ("{at} estão a contratar baristas em {city}? Tenho experiência.",),
        "press": (
            "{at} Olá, sou jornalista do {outlet}. Podem comentar o encerramento da {store}?",
        ),
    },
}

_SPOILERS: dict[str, tuple[str, ...]] = {
    "support": ("rant", "long complaint", "customer service rant", "negative"),
    "praise": ("food", "food pic", "coffee pic"),
    "safety": ("allergy, hospital", "food poisoning, vomiting", "injury", "security"),
    "legal": ("legal", "privacy"),
    "careers": ("work, labour", "job stuff"),
    "press": (),
    "spam": ("18+", "crypto"),
}

_VISIBILITY: dict[str, tuple[tuple[str, float], ...]] = {
    "support": (("public", 0.78), ("unlisted", 0.06), ("private", 0.04), ("direct", 0.12)),
    "praise": (("public", 0.9), ("unlisted", 0.07), ("private", 0.03)),
    "press": (("public", 0.8), ("direct", 0.2)),
    "careers": (("public", 0.8), ("unlisted", 0.05), ("direct", 0.15)),
    "legal": (("public", 0.7), ("direct", 0.3)),
    "safety": (("public", 0.85), ("direct", 0.15)),
    "spam": (("public", 0.9), ("unlisted", 0.05), ("direct", 0.05)),
}

_SUFFIXES: dict[str, tuple[str, ...]] = {
    "legal": (
        "",
        "",
        "Ref {order}.",
        "— {staff} {last}",
        "(Also sent by email.)",
        "Regards, {staff} {last}",
        "Second request.",
    ),
    "careers": ("", "", "Thanks!", "🙏", "Cheers, {staff}", "Any info appreciated.", "({city})"),
    "spam": ("", "", "🔥🔥🔥", "💯", "DM me", "{tags}", "👇👇", "{link}"),
    "press": ("", "", "Thanks!", "— {staff} {last}", "Many thanks.", "Cheers, {staff}"),
    "safety": ("", "", "PLEASE RESPOND.", "This is serious.", "Still waiting for a call back."),
}
_NEUTRAL_SUFFIXES: tuple[str, ...] = ("", "", "— {staff} {last}", "🙏", "Ref {order}")

_CAMPAIGNS = ("Autumn Spice Trail", "Bean Club Bingo", "Winter Warmers", "Sip & Stamp")


_A_AN = re.compile(r"\b([Aa]) (?=[aeioAEIO])")


@dataclass(frozen=True)
class Post:
    """A mention as its author typed it, before rendering.

    ``kind`` is the ground truth for tests and benchmarks; it never goes into a payload.
    ``language`` is what the author's client declared (``None`` sometimes, as in real life);
    ``text_language`` is what the text really is.
    """

    kind: str
    text_language: str
    language: str | None
    text: str
    spoiler_text: str
    visibility: str
    photos: tuple[str, ...]


@dataclass(frozen=True)
class Persona:
    """Someone who writes to the brand. ``domain`` is ``None`` for an account of the instance."""

    key: str
    username: str
    domain: str | None
    display_name: str
    note: str
    followers: int
    following: int
    statuses: int
    created_day: int
    """Days before 2026-01-01 the account was created."""
    bot: bool
    emoji: str | None
    """A custom emoji shortcode used in the display name (listed in ``account.emojis``)."""


class _Slots(dict[str, str]):
    """Lazily fills each slot once, so a slot used twice in a template reads the same."""

    def __init__(self, pools: Mapping[str, Callable[[], str]]) -> None:
        super().__init__()
        self.pools = pools

    def __missing__(self, key: str) -> str:
        value = self.pools[key]()
        self[key] = value
        return value


def _pick_weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for value, weight in options:
        roll -= weight
        if roll < 0:
            return value
    return options[-1][0]


def _link(rng: random.Random, kind: str, handle: str) -> str:
    token = "".join(
        rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7)
    )
    return {
        "support": f"https://imgshare.example/a/{token}",
        "praise": f"https://www.brewblog.example/2026/{rng.randint(1, 12):02d}/"
        f"chain-coffee-ranked-{token.lower()}",
        "press": f"https://www.metrodaily.example/business/2026/{rng.randint(1, 12):02d}/"
        f"coffee-chains-under-pressure-{token.lower()}",
        "careers": f"https://careers.{handle.lower()}.example/jobs?location={token}&ref=social",
        "legal": f"https://www.register-of-designs.example/case/{token}",
        "safety": f"https://pastebin.example/raw/{token}",
        "spam": f"https://bit.example/{token}?utm_source=fedi&utm_campaign=promo",
    }[kind]


def compose(rng: random.Random, *, brand_name: str, brand_handle: str) -> Post:
    """A random post that mentions ``@brand_handle``: its kind, language, text and options."""
    kind = rng.choices(KINDS, weights=_KIND_WEIGHTS)[0]
    lang = rng.choices(LANGUAGES, weights=_LANG_WEIGHTS)[0]
    templates = _FOREIGN.get(lang, {}).get(kind) if lang != "en" else None
    if not templates:
        lang = "en"
        templates = _EN[kind]
    template = rng.choice(templates)
    photos: tuple[str, ...] = ()
    if template.startswith("📷"):
        template, alt = template[1:].strip().split("|", 1)
        photos = (alt,)
        if rng.random() < 0.25:
            photos = (alt, "A close-up of the same drink from above")
    writer = _Composer(rng, kind=kind, lang=lang, brand_name=brand_name, brand_handle=brand_handle)
    text = writer.finish(template.format_map(writer.slots))

    spoiler = ""
    spoilers = _SPOILERS[kind]
    if spoilers and rng.random() < (0.2 if kind == "safety" else 0.06):
        spoiler = rng.choice(spoilers)
    visibility = _pick_weighted(rng, _VISIBILITY[kind])
    declared: str | None = lang if rng.random() >= 0.04 else None
    return Post(
        kind=kind,
        text_language=lang,
        language=declared,
        text=text,
        spoiler_text=spoiler,
        visibility=visibility,
        photos=photos,
    )


class _Composer:
    """Fills one post's template: its slots draw from ``rng`` as the template names them."""

    def __init__(
        self, rng: random.Random, *, kind: str, lang: str, brand_name: str, brand_handle: str
    ) -> None:
        self.rng, self.kind, self.lang = rng, kind, lang
        self.brand_name, self.brand_handle = brand_name, brand_handle
        self.short = brand_name.split()[0] if brand_name.split() else brand_handle
        self.btag = re.sub(r"\W", "", brand_name) or brand_handle
        self.local = _SLOTS[lang]
        self.slots = _Slots({})
        self.slots.pools = self.pools()

    def one_of(self, values: tuple[str, ...]) -> Callable[[], str]:
        return lambda: self.rng.choice(values)

    def street(self) -> str:
        return self.rng.choice(self.local["street"])

    def store(self) -> str:
        if self.lang != "en":
            return _FOREIGN_STORE[self.lang].format(short=self.short, street=self.street())
        return self.rng.choice(
            (
                f"the {self.street()} store",
                f"{self.short} on {self.street()}",
                f"your {self.street()} location",
                f"the {self.slots['city']} {self.street()} shop",
                f"{self.brand_name} {self.street()}",
            )
        )

    def tags(self) -> str:
        rng, kind = self.rng, self.kind
        chosen = rng.sample(_TAGS[kind], k=min(len(_TAGS[kind]), rng.randint(1, 3)))
        return " ".join(t.format(short=self.short, btag=self.btag) for t in chosen)

    def pools(self) -> dict[str, Callable[[], str]]:
        rng, lang, local, one_of = self.rng, self.lang, self.local, self.one_of
        drinks = _LOCAL_DRINKS.get(lang, _DRINKS)
        return {
            "at": lambda: f"@{self.brand_handle}",
            "brand": lambda: rng.choice((self.brand_name, self.brand_name, self.short)),
            "short": lambda: self.short,
            "btag": lambda: self.btag,
            "drink": one_of(drinks),
            "drink2": one_of(drinks),
            "food": one_of(_LOCAL_FOOD.get(lang, _FOOD)),
            "milk": one_of(_MILKS),
            "allergen": one_of(_ALLERGENS),
            "phone": one_of(_PHONES),
            "role": one_of(_ROLES),
            "outlet": lambda: (
                rng.choice(_OUTLETS) if lang == "en" else rng.choice(_OUTLETS).removeprefix("the ")
            ),
            "topic": one_of(_TOPICS),
            "staff": one_of(_FIRST),
            "last": one_of(_LAST),
            "city": one_of(local["city"]),
            "street": self.street,
            "store": self.store,
            "time": one_of(local["time"]),
            "price": one_of(local["price"]),
            "minutes": lambda: str(rng.randint(15, 55)),
            "days": lambda: str(rng.randint(6, 30)),
            "years": lambda: str(rng.randint(1, 6)),
            "order": lambda: str(rng.randint(10_000, 99_999)),
            "last4": lambda: f"{rng.randint(0, 9999):04d}",
            "points": lambda: str(rng.randint(120, 2400)),
            "app_version": lambda: f"4.{rng.randint(8, 14)}.{rng.randint(0, 3)}",
            "year": lambda: "2026",
            "deadline": one_of(("today at 5pm", "tomorrow morning", "by Friday", "tonight")),
            "campaign": one_of(_CAMPAIGNS),
            "link": lambda: _link(rng, self.kind, self.brand_handle),
            "tags": self.tags,
        }

    def finish(self, text: str) -> str:
        """Openers and closers, suffixes, the handle where the template had none, hashtags."""
        rng, kind, lang, local = self.rng, self.kind, self.lang, self.local
        at = f"@{self.brand_handle}"
        if kind in ("support", "praise") and "\n" not in text:
            prefix = "" if kind == "support" else "praise_"
            opener = rng.choice(local[f"{prefix}opener"])
            closer = rng.choice(local[f"{prefix}closer"])
            if opener and text.startswith(f"{at} "):
                head = f"{at} "
                text = f"{head}{opener} {text[len(head) :]}"
            if closer:
                text = f"{text} {closer}"
        elif kind in _SUFFIXES and "\n" not in text:
            suffix = rng.choice(_SUFFIXES[kind] if lang == "en" else _NEUTRAL_SUFFIXES)
            if suffix:
                text = f"{text} {suffix.format_map(self.slots)}"
        if lang == "en":
            text = _A_AN.sub(r"\1n ", text)
        if at not in text:
            text = f"{at} {text}" if rng.random() < 0.6 else f"{text} {at}"
        if kind not in ("spam",) and rng.random() < 0.12 and "#" not in text:
            text = f"{text}\n\n{self.tags()}"
        return text


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------

_EMOJI_NAMES = ("☕", "🌱", "🚲", "✨", "🏳️‍🌈", "🐈", "📷", "🎧", "🌻", "🧶")
_SHORTCODES = ("coffee_parrot", "verified", "blobcat", "mastodon", "flag_eu")
_NOTES = (
    "Coffee, code and cats.",
    "Opinions my own. He/him.",
    "Nurse. Runner. Caffeine-powered.",
    "Teacher in {city}. Books &amp; bikes.",
    "I take photos of things.",
    "Software person. Tea is fine too.",
    "Parent of two, survivor of mornings.",
    "Cyclist, birder, occasional baker.",
    "",
    "",
)
_JOURNALIST_NOTES = (
    "Food &amp; business reporter at {outlet}. DMs open, Signal on request.",
    "Retail correspondent, {outlet}. Tips welcome.",
    "Freelance journalist covering labour and hospitality.",
    "Producer, {outlet}. Views my own.",
)


def persona(rng: random.Random, *, population: str, index: int) -> Persona:
    """Someone from ``population`` ("public", "press" or "bots"), the same for the same rng."""
    first = rng.choice(_FIRST)
    last = rng.choice(_LAST)
    last_plain = re.sub(r"\W", "", last).lower()
    domain: str | None = None if rng.random() < 0.45 else rng.choice(_REMOTE_DOMAINS)
    bot = False
    emoji: str | None = None
    if population == "bots":
        username = rng.choice(("deals", "promo", "growth", "crypto", "free", "airdrop", "bot"))
        username = f"{username}_{rng.choice(('hub', 'king', 'now', 'daily', 'x'))}{index}"
        display = rng.choice(("Best Deals 🔥", "Crypto News 🚀", "Follow4Follow", "", "Promo Bot"))
        note = "Automated account. DM for promos."
        followers = int(rng.paretovariate(1.5) * 3)
        bot = rng.random() < 0.6
    elif population == "press":
        outlet = rng.choice(_OUTLETS)
        username = rng.choice(
            (f"{first}{last_plain}", f"{first[0]}{last_plain}", f"{first}_reports")
        )
        display = f"{first} {last} ({outlet.removeprefix('the ').removeprefix('The ')})"
        note = rng.choice(_JOURNALIST_NOTES).format(outlet=outlet)
        followers = int(10_000 + rng.paretovariate(1.1) * 4_000)
    else:
        username = rng.choice(
            (
                f"{first}{last_plain[:1]}",
                f"{first}_{last_plain}",
                f"{first}{rng.randint(1, 99)}",
                f"{rng.choice(_WORDS)}",
                f"{first}_{rng.choice(_WORDS)}",
                f"{rng.choice(_WORDS)}{rng.randint(1, 999)}",
            )
        )
        style = rng.random()
        if style < 0.12:
            display = ""
        elif style < 0.3:
            display = f"{first} {rng.choice(_EMOJI_NAMES)}"
        elif style < 0.36:
            emoji = rng.choice(_SHORTCODES)
            display = f"{first} :{emoji}:"
        elif style < 0.6:
            display = first
        else:
            display = f"{first} {last}"
        note = rng.choice(_NOTES).format(city=rng.choice(_SLOTS["en"]["city"]))
        note = f"<p>{note}</p>" if note else ""
        # Long-tailed: most have a few dozen followers, a handful are influencers.
        followers = int(rng.paretovariate(1.15) * 12) - 12
        if rng.random() < 0.01:
            followers += rng.randint(10_000, 120_000)
    if population in ("press", "bots"):
        note = f"<p>{note}</p>"
    username = re.sub(r"[^A-Za-z0-9_]", "", username.lower() if rng.random() < 0.7 else username)
    return Persona(
        key=f"{population}:{index}",
        username=username or f"user{index}",
        domain=domain,
        display_name=display,
        note=note,
        followers=max(0, min(followers, 900_000)) if not (domain and rng.random() < 0.15) else 0,
        following=int(rng.paretovariate(1.3) * 40),
        statuses=int(rng.paretovariate(0.9) * 50),
        created_day=rng.randint(20, 3000),
        bot=bot,
        emoji=emoji,
    )


# --------------------------------------------------------------------------------------------
# Rendering, as Mastodon's TextFormatter does it
# --------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"(?P<url>https?://[^\s<>\"]*[^\s<>\".,!?;:)\]'])"
    r"|(?<![\w/@])@(?P<user>[A-Za-z0-9_]+)(?:@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+))?"
    r"|(?<![\w/#&])#(?P<tag>\w*[^\W\d_]\w*)"
)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})


def escape(text: str) -> str:
    """HTML-escape like Rails' ``html_escape`` (``'`` becomes ``&#39;``)."""
    return text.translate(_ESCAPES)


@dataclass(frozen=True)
class Rendered:
    """A post's HTML and the structured mentions and tags found while rendering it."""

    html: str
    mentions: tuple[tuple[str, str | None], ...]
    """(username, domain) of each linked mention, in order, without duplicates."""
    tags: tuple[str, ...]
    """Tag names as typed, in order, without case-insensitive duplicates."""


def _shortened_link(url: str) -> str:
    match = re.match(r"https?://(?:www\.)?", url)
    prefix = match.group(0) if match else ""
    display = url[len(prefix) :]
    if len(display) > 30:
        middle = f'<span class="ellipsis">{escape(display[:30])}</span>'
        rest = escape(display[30:])
    else:
        middle = f'<span class="">{escape(display)}</span>'
        rest = ""
    return (
        f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{escape(prefix)}</span>{middle}'
        f'<span class="invisible">{rest}</span></a>'
    )


def render_html(
    text: str,
    *,
    local_domain: str,
    author_domain: str | None,
    linkable: Callable[[str, str | None], bool] | None = None,
) -> Rendered:
    """Render typed text to Mastodon status HTML.

    ``author_domain`` is ``None`` for a post written on ``local_domain`` (Mastodon's own markup,
    ``translate="no"`` h-cards); otherwise the markup is what Mastodon keeps of a remote post
    after sanitising (``rel="nofollow noopener" target="_blank"``). ``linkable(user, domain)``
    says whether a mention resolves to an account; unresolved ones stay plain text.
    """
    mentions: list[tuple[str, str | None]] = []
    tags: list[str] = []
    seen_tags: set[str] = set()
    home = author_domain or local_domain
    remote = author_domain is not None

    def render_line(line: str) -> str:
        out: list[str] = []
        pos = 0
        for match in _TOKEN_RE.finditer(line):
            out.append(escape(line[pos : match.start()]))
            pos = match.end()
            if match.group("url"):
                out.append(_shortened_link(match.group("url")))
            elif match.group("user"):
                user, domain = match.group("user"), match.group("domain")
                if linkable is not None and not linkable(user, domain):
                    out.append(escape(match.group(0)))
                    continue
                if (user, domain) not in mentions:
                    mentions.append((user, domain))
                href = f"https://{domain or local_domain}/@{user}"
                if remote:
                    out.append(
                        f'<span class="h-card"><a href="{href}" class="u-url mention" '
                        f'rel="nofollow noopener" target="_blank">@<span>{user}</span></a></span>'
                    )
                else:
                    out.append(
                        f'<span class="h-card" translate="no"><a href="{href}" '
                        f'class="u-url mention">@<span>{user}</span></a></span>'
                    )
            else:
                tag = match.group("tag")
                if tag.lower() not in seen_tags:
                    seen_tags.add(tag.lower())
                    tags.append(tag)
                href = f"https://{home}/tags/{tag}"
                if remote:
                    out.append(
                        f'<a href="{href}" class="mention hashtag" rel="nofollow noopener" '
                        f'target="_blank">#<span>{escape(tag)}</span></a>'
                    )
                else:
                    out.append(
                        f'<a href="{href}" class="mention hashtag" rel="tag">'
                        f"#<span>{escape(tag)}</span></a>"
                    )
        out.append(escape(line[pos:]))
        return "".join(out)

    paragraphs = [p for p in re.split(r"\n{2,}", text.strip()) if p.strip()]
    html = "".join(
        "<p>" + "<br />".join(render_line(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    return Rendered(html=html, mentions=tuple(mentions), tags=tuple(tags))
