"""Stop words of the languages the replies are written in (en, de, es, fr, pt), casefolded.

Short function words only (articles, pronouns, auxiliaries, prepositions, conjunctions, very
common adverbs) plus social-media filler; words of two letters or fewer are dropped anyway.
"""

from __future__ import annotations

_EN = """
about above after again against all also am an and any are aren arent as at be because been
before being below between both but by can cannot could couldn did didn didnt do does doesn
doesnt doing don dont down during each few for from further get gets got had hadn has hasn
hasnt have haven havent having he her here hers herself him himself his how i if in into is
isn isnt it its itself just let lets ll me more most mustn my myself no nor not now of off
on once only or other ought our ours ourselves out over own re same shan she should shouldn
so some such than that thats the their theirs them themselves then there these they this
those through to too under until up us very was wasn wasnt we were weren what when where
which while who whom why will with won wont would wouldn you your yours yourself yourselves
ve im ive youre hey hi hello thanks thank please pls plz lol lmao omg yes yeah yep ok okay
just really still even much many one two get got going gonna wanna via amp new
"""
_DE = """
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
auch auf aus bei bin bis bist da damit dann das dass dein deine deinem deinen deiner dem den
denn der des dich die dies diese diesem diesen dieser dieses dir doch dort du durch ein eine
einem einen einer eines er es etwas euch euer eure für gegen gewesen hab habe haben hat hatte
hätte hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im in indem ins ist jede
jedem jeden jeder jedes jetzt kann kein keine keinem keinen keiner können könnte machen man
manche mein meine meinem meinen meiner mich mir mit muss musste nach nicht nichts noch nun nur
ob oder ohne schon sehr sein seine seinem seinen seiner seit sich sie sind so solche soll
sollte sondern sonst über um und uns unser unsere unter vom von vor war waren warum was weil
welche welchem welchen welcher wenn wer werde werden wie wieder will wir wird wo wollen zu
zum zur zwar danke bitte hallo
"""
_ES = """
al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante
el ella ellas ellos en entre era eres es esa esas ese eso esos esta estaba estado estamos
estan están estar este esto estos estoy fue fueron ha habia había han has hasta hay la las
le les lo los mas más me mi mis mucho muy nada ni no nos nosotros nuestra nuestro os otra
otro para pero poco por porque que qué quien se sea ser si sí sin sobre son su sus también
tanto te tengo tiene tienen todo todos tu tus un una uno unos usted ustedes vosotros ya yo
gracias hola por favor
"""
_FR = """
ai aie aient aies ait alors as au aucun aussi autre aux avais avait avant avec avez avoir
avons bon car ce cela ces cet cette ceux chaque ci comme comment dans de des du elle elles
en encore es est et étaient était été être eu fait faire fais il ils je la le les leur leurs
lui ma mais me même mes moi mon ne nos notre nous on ont ou où par pas peu peut plus pour
pourquoi qu quand que quel quelle quels qui sa sans se ses si son sont sur ta te tes toi ton
tous tout toute toutes très tu un une vos votre vous merci bonjour salut
"""
_PT = """
ao aos aquela aquele aqueles aquilo as até com como da das de dela dele deles depois do dos
ela elas ele eles em entre era eram essa esse esta está estão este eu foi foram há isso isto
já lhe lhes mais mas me mesmo meu meus minha minhas muito na nas nem no nos nós nossa nosso
num numa não o os ou para pela pelas pelo pelos por qual quando que quem se sem ser seu seus
só sua suas também te tem têm tu tua tuas um uma você vocês vos obrigado obrigada olá
"""

STOP_WORDS: frozenset[str] = frozenset(
    word.casefold() for block in (_EN, _DE, _ES, _FR, _PT) for word in block.split()
)
