"""The sandbox's post templates per kind of mention and language, with their content
warnings, visibilities and sign-offs. Data only; :mod:`sandbox.content` fills and renders them.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# Templates. Posts are plain text as typed; "\n\n" starts a paragraph, "\n" is a line break.
# A template without {at} gets the mention put in front or at the end.
# Templates marked with a leading "📷" come with a photo attachment (the rest of the line is
# the alt text, after "|").
# --------------------------------------------------------------------------------------------

EN: dict[str, tuple[str, ...]] = {
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

FOREIGN: dict[str, dict[str, tuple[str, ...]]] = {
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

SPOILERS: dict[str, tuple[str, ...]] = {
    "support": ("rant", "long complaint", "customer service rant", "negative"),
    "praise": ("food", "food pic", "coffee pic"),
    "safety": ("allergy, hospital", "food poisoning, vomiting", "injury", "security"),
    "legal": ("legal", "privacy"),
    "careers": ("work, labour", "job stuff"),
    "press": (),
    "spam": ("18+", "crypto"),
}

VISIBILITY: dict[str, tuple[tuple[str, float], ...]] = {
    "support": (("public", 0.78), ("unlisted", 0.06), ("private", 0.04), ("direct", 0.12)),
    "praise": (("public", 0.9), ("unlisted", 0.07), ("private", 0.03)),
    "press": (("public", 0.8), ("direct", 0.2)),
    "careers": (("public", 0.8), ("unlisted", 0.05), ("direct", 0.15)),
    "legal": (("public", 0.7), ("direct", 0.3)),
    "safety": (("public", 0.85), ("direct", 0.15)),
    "spam": (("public", 0.9), ("unlisted", 0.05), ("direct", 0.05)),
}

SUFFIXES: dict[str, tuple[str, ...]] = {
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
NEUTRAL_SUFFIXES: tuple[str, ...] = ("", "", "— {staff} {last}", "🙏", "Ref {order}")

CAMPAIGNS = ("Autumn Spice Trail", "Bean Club Bingo", "Winter Warmers", "Sip & Stamp")
