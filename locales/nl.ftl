# licensebot berichtencatalogus: Nederlands (nl-NL), in Project Fluent's formaat.
# Elke zin die de bot tegen mensen zegt. `{ $naam }` is een parameter die de bot invult; een
# aantal kiest zijn vorm met `{ $n -> [one] … *[other] … }`. De code schrijft een sleutel met
# punten (`request.created`), dit bestand met streepjes (`request-created`).
# Een vertaling houdt elke sleutel en dezelfde parameters, en geeft elke getelde vorm alle
# meervoudscategorieën van haar taal (tests controleren dat).

## error
error-internal = Er ging aan mijn kant iets mis; de beheerder ziet het in de logboeken. Probeer het over een minuut opnieuw.

## parse
parse-suggest = Op zoek naar een Power BI Pro-licentie? Typ `{ $prefix } request` (eventueel met een reden), dan leg ik het voor aan een beheerder.
parse-unknown = Dat commando ken ik niet. Dit kan ik:
parse-usage = Gebruik: { $usage }
parse-usage_with_problem = { $problem }. Gebruik: { $usage }
parse-too_long = Dat bericht is te lang voor mij (hoogstens { $max } tekens).

## parse.problem
parse-problem-unexpected = `{ $token }` hoort hier niet
parse-problem-one_at_a_time = `{ $token }` hoort hier niet: revoke neemt één persoon tegelijk
parse-problem-not_a_person = `{ $token }` is geen UPN (naam@contoso.com) en geen vermelding (@naam)
parse-problem-bad_mention = `{ $token }` is geen geldige vermelding
parse-problem-bad_upn = `{ $token }` is geen geldige UPN: { $why }
parse-problem-need_person = zeg wie: een UPN (naam@contoso.com) of een vermelding (@naam)
parse-problem-need_upn = geef je UPN, zoals naam@contoso.com
parse-problem-link_needs_upn = link heeft je UPN nodig (naam@contoso.com), geen vermelding
parse-problem-need_request_number = geef een aanvraagnummer, zoals #12
parse-problem-not_a_request_number = `{ $token }` is geen aanvraagnummer
parse-problem-reason_too_long = de reden is te lang (hoogstens { $max } tekens)
parse-problem-too_many_people = te veel gebruikers (hoogstens { $max })
parse-problem-need_code = geef de code van { $digits } cijfers uit de mail
parse-problem-need_seats = geef een aantal plaatsen van 1 tot en met { $max }
parse-problem-not_a_cycle = `{ $token }` is geen factuurperiode: gebruik monthly of annual
parse-problem-say_on_or_off = zeg on of off
parse-problem-not_a_command = `{ $token }` is geen commando
parse-problem-bad_term = `{ $token }` is geen termijn die de bot geeft: schrijf 1 tot { $max } dagen als `30d`, `2w` of `3m` (maanden van 30 dagen)
parse-problem-need_term = noem een termijn zoals `30d`, `2w` of `3m` (maanden van 30 dagen)
parse-problem-not_a_month = `{ $token }` is geen maand: schrijf hem als 2026-12
parse-problem-not_a_language = `{ $token }` is geen taal die ik spreek: kies { $choices }

## parse.upn
parse-upn-no_at = er staat geen @ in
parse-upn-local_length = het deel voor de @ moet 1 tot 113 tekens hebben
parse-upn-local_characters = het deel voor de @ mag alleen letters, cijfers en ' . - _ ! # ^ ~ bevatten
parse-upn-local_dots = punten mogen in het deel voor de @ niet vooraan, achteraan of dubbel staan
parse-upn-domain = het domein moet een DNS-naam zijn, zoals contoso.com

## help
help-header = Commando's:
help-approver_header = Voor goedkeurders:
help-example = Voorbeeld: { $example }
help-more = `{ $prefix } help <commando>` toont één commando met een voorbeeld.
help-request = `{ $prefix } request [for <upn|@gebruiker>] [for 30d] [reden…]`: vraag een Power BI Pro-licentie aan, desgewenst voor een termijn (voor iemand anders: alleen goedkeurders)
help-extend = `{ $prefix } extend [for 30d]`: vraag om je tijdelijke licentie langer te houden (een nieuwe goedkeuring)
help-keep = `{ $prefix } keep`: houd je licentie als een goedkeurder die wilde overzetten naar iemand die hem nodig heeft
help-link = `{ $prefix } link <upn>`: bewijs welk Microsoft 365-account van jou is: ik mail er een code naartoe (goedkeurders: `{ $prefix } link @gebruiker <upn>` staat in voor een ander)
help-status = `{ $prefix } status [id]`: je recente aanvragen, of de details van één aanvraag
help-cancel = `{ $prefix } cancel <id>`: trek een aanvraag in die nog niet is gestart
help-release = `{ $prefix } release`: geef je Power BI Pro-licentie terug
help-help = `{ $prefix } help [commando]`: deze lijst, of één commando
help-buy = `{ $prefix } buy <n> [monthly|annual]`: koop n extra Power BI Pro-licenties
help-assign = `{ $prefix } assign <upn|@gebruiker>…`: geef één of meer mensen Power BI Pro
help-revoke = `{ $prefix } revoke <upn|@gebruiker> [reden…]`: neem een Power BI Pro-licentie in (wie hem verliest krijgt het te horen, met de reden)
help-seats = `{ $prefix } seats [remove <n>]`: licenties gekocht, toegewezen, vrij en besteld; of verwijder n licenties
help-pending = `{ $prefix } pending`: goedkeuringen die op jou wachten
help-away = `{ $prefix } away on|off`: tijdelijk geen goedkeuringen meer naar jou sturen, of weer wel
help-audit = `{ $prefix } audit <id>`: de volledige geschiedenis van een aanvraag

help-purchased = `{ $prefix } purchased <id>`: meld dat je de licenties van een aankooptaak hebt gekocht (handmatige aankoop)
help-unlink = `{ $prefix } unlink`: maak de koppeling van je chataccount met een Microsoft 365-account ongedaan (goedkeurders: `{ $prefix } unlink <upn|@gebruiker>` doet dat voor een ander)
help-verify = `{ $prefix } verify <code>`: de code uit de mail, in een privébericht aan mij
help-spend = `{ $prefix } spend [JJJJ-MM]`: wat de bot per maand kocht, en wat er van het budget over is
help-language = `{ $prefix } language [en|nl]`: de taal waarin ik je antwoord (een slash-commando volgt de taal van je Discord-app)
## command
command-approvers_only = Alleen goedkeurders kunnen `{ $command }` gebruiken.

## link
link-needed = Koppel eerst je chataccount aan je Microsoft 365-account: `{ $prefix } link jij@contoso.com`; ik mail dat account een code om te bewijzen dat het van jou is.
link-approver_fixed = Als goedkeurder ben je via de configuratie van de bot gekoppeld aan { $upn }.
link-target_unlinked = { $who } heeft nog geen geverifieerde koppeling met een Microsoft 365-account; dat kan met `{ $prefix } link`, of noem de UPN.
link-unlink_others_approvers_only = Alleen goedkeurders kunnen de koppeling van een ander ongedaan maken. Je eigen koppeling maak je ongedaan met `{ $prefix } unlink`.
link-configured = { $who } is via de configuratie van de bot gekoppeld aan { $upn }; alleen een beheerder kan dat wijzigen, in de instellingen.
link-none = Je chataccount is niet aan een Microsoft 365-account gekoppeld, dus er valt niets ongedaan te maken.
link-none_for_user = { $who } is niet aan een Microsoft 365-account gekoppeld.
link-none_for_upn = Er is geen chataccount aan { $upn } gekoppeld.
link-removed = Je chataccount is niet meer gekoppeld aan { $upn }. Opnieuw koppelen: `{ $prefix } link jij@contoso.com`.
link-removed_by = { $who } heeft de koppeling tussen je chataccount en { $upn } ongedaan gemaakt. Was dat een vergissing, koppel dan opnieuw met `{ $prefix } link { $upn }`.
link-removed_other = { $who } is losgekoppeld van { $upn }; ik heb het ze laten weten.
link-unproven = { $how ->
        [locked] Je koppeling met { $upn } is geblokkeerd na te veel verkeerde codes. Begin opnieuw met `{ $prefix } link { $upn }` voor een nieuwe code.
        [code] Je koppeling met { $upn } is nog niet bewezen. Ik heb een code naar dat account gemaild: stuur `{ $prefix } verify CODE` in een privébericht aan mij. Geen mail? Begin opnieuw met `{ $prefix } link { $upn }`.
       *[other] Je koppeling met { $upn } is nog niet bewezen. Vraag een code per mail met `{ $prefix } link { $upn }` en stuur die in een privébericht aan mij, of vraag een goedkeurder de koppeling te bevestigen.
    }
link-code_sent = Ik heb een code gemaild naar de mailbox van { $upn }. Stuur `{ $prefix } verify CODE` binnen { $minutes } minuten in een privébericht aan mij; typ de code nooit in een kanaal.
link-mail_failed = Ik kon de mail naar de mailbox van { $upn } nu niet versturen, dus er is niets bewezen. Probeer `{ $prefix } link { $upn }` over een paar minuten opnieuw, of vraag een goedkeurder je koppeling te bevestigen.
link-no_mail_proof = Ik heb genoteerd dat je zegt { $upn } te zijn, maar ik kan dat account geen code mailen. Vraag een goedkeurder het te bevestigen (`{ $prefix } link @jij { $upn }`); tot dan kun je er niet namens optreden.
link-rate_limited = Er zijn het afgelopen uur te veel codes gevraagd (hoogstens { $max } per chataccount en per Microsoft 365-account). Probeer het later opnieuw.
link-already_verified = Je chataccount is al geverifieerd als { $upn }.
link-disabled = Het account { $upn } is uitgeschakeld en kan dus niet gekoppeld worden.
link-guest = { $upn } is een gastaccount; deze bot koppelt geen gastaccounts.
link-attest_approvers_only = Alleen goedkeurders kunnen de koppeling van een ander bevestigen.
link-attest_needs_role = Voor het bevestigen van een koppeling is een van deze rollen nodig: { $roles }.
link-attested = Bevestigd: { $who } treedt op voor { $upn }, geverifieerd door jou. Ik heb het ze laten weten.
link-attested_you = { $who } heeft bevestigd dat je chataccount optreedt voor { $upn }. Je kunt nu een Power BI Pro-licentie ervoor aanvragen.
link-moved_away = Je chataccount treedt niet meer op voor { $upn }: een ander chataccount heeft bewezen dat het van hem is. Was jij dat niet, meld het dan aan een goedkeurder (en koppel opnieuw met `{ $prefix } link { $upn }`).
link-notice = Koppelingen moeten nu bewezen worden: je koppeling met { $upn } wacht daarop. Typ `{ $prefix } link { $upn }` voor een code per mail.
link-proof_sign_in = geverifieerd door aanmelding op { $date }
link-proof_mail_code = geverifieerd met een gemailde code op { $date }
link-proof_admin = geverifieerd door { $who } op { $date }
link-proof_config = gekoppeld via de configuratie van de bot
link-proof_none = niet geverifieerd (aangevraagd voordat koppelingen geverifieerd werden)
link-sign_in_link =
    Bewijs dat { $upn } van jou is door je aan te melden bij Microsoft 365: { $url }
    De link werkt één keer, { $minutes } minuten lang, en alleen voor jou; je bevestigt voordat er iets gekoppeld wordt.
link-sign_in_sent = Ik heb je in een privébericht een link gestuurd om je aan te melden als { $upn }; daarmee bewijs je dat het account van jou is.
link-sign_in_also = Of meld je aan met de link die ik je in een privébericht heb gestuurd.

## directory
directory-not_found = Ik kan { $upn } niet vinden in de directory.

## backend
backend-seats_unavailable = Ik kan het aantal licenties nu niet uit Microsoft 365 lezen, dus er is niets gewijzigd. Probeer het over een minuut opnieuw.
backend-directory_unavailable = Ik kan de directory nu niet bereiken, dus er is niets gewijzigd. Probeer het over een minuut opnieuw.
backend-roles_unavailable = Ik kan je beheerdersrollen nu niet controleren, dus er is niets gewijzigd. Probeer het over een minuut opnieuw.

## policy
policy-disabled = Het account { $upn } is uitgeschakeld en kan dus geen licentie krijgen.
policy-already_pro = { $upn } heeft al een Power BI Pro-licentie ({ $sku }); er hoeft niets te gebeuren.
policy-included = { $upn } heeft Power BI Pro al via { $sku }; een aparte licentie is niet nodig.
policy-guest = { $upn } is een gastaccount. Gasten krijgen Power BI Pro pas nadat de organisatie haar overeenkomst met Microsoft heeft gecontroleerd, en deze bot mag geen licenties aan gasten toewijzen.
policy-already_open = Er loopt al een aanvraag voor { $upn }: { $id }.
policy-too_many_open = Je hebt { $open } lopende aanvragen en het maximum is { $max }. Wacht tot er één klaar is, of trek er één in.
policy-already_pro_group = { $upn } heeft Power BI Pro al via de groep { $groups }; er hoeft niets te gebeuren.

## request
request-created = Aanvraag { $id } is binnen: { $subject }. Ik heb een beheerder om goedkeuring gevraagd en laat het je weten.
request-created_with_purchase = Aanvraag { $id } is binnen: { $subject }. Er is geen licentie vrij, dus eerst moeten er { $quantity } worden gekocht; ik heb de beheerders gevraagd en laat het je weten.
request-created_waiting = Aanvraag { $id } is binnen: { $subject }. Hij wacht op licenties die worden gekocht; ik laat het je weten.
request-created_approved = Aanvraag { $id } is goedgekeurd en staat klaar: { $subject }.
request-for_others_approvers_only = Alleen goedkeurders kunnen een licentie voor iemand anders aanvragen. Vraag er zelf een aan met `request`, of vraag het aan een goedkeurder.
request-unknown = Aanvraag { $id } bestaat niet.
request-not_yours = Aanvraag { $id } is niet van jou, dus ik kan hem niet tonen of wijzigen.
request-not_a_requester = Je hoort niet bij de mensen die hier een Power BI Pro-licentie mogen aanvragen; vraag het een beheerder.

## cancel
cancel-closed = Aanvraag { $id } is al { $state }.
cancel-executing = Aanvraag { $id } wordt op dit moment uitgevoerd en kan niet meer worden ingetrokken.
cancel-nothing = Van aanvraag { $id } kon niets worden ingetrokken.

## release
release-nothing = Je hebt geen Power BI Pro-licentie om terug te geven.
release-included = Je Power BI Pro hoort bij { $sku }, dus er valt niets apart terug te geven.
release-started = Je Power BI Pro-licentie wordt teruggegeven (aanvraag { $id }); ik laat het weten als het klaar is.
release-from_group = Je Power BI Pro-licentie komt van de groep { $groups }, dus hier teruggeven maakt geen plek vrij. Vraag de eigenaren van de groep of een beheerder om je uit de groep te halen.

## revoke
revoke-nothing = { $upn } heeft geen eigen Power BI Pro-licentie om in te nemen.
revoke-from_group = { $upn } krijgt Power BI Pro via de groep { $groups }, dus hier een licentie afnemen verandert niets. Vraag de eigenaren van de groep of een beheerder om { $upn } uit de groep te halen.

## seats
seats-reduce_busy = Aanvraag { $id } wijzigt het aantal licenties op dit moment (goedgekeurd, wordt uitgevoerd); verwijder licenties als dat klaar is.
seats-reduce_floor = Als je { $seats } van de { $enabled } licenties verwijdert, blijven er minder over dan de { $floor } die in gebruik zijn of aan lopende aanvragen zijn beloofd.
seats-report = { $sku }: { $enabled } licenties gekocht, { $consumed } toegewezen, { $free } vrij. Beloofd aan open aanvragen: { $promised }; besteld (goedgekeurd, wordt gekocht): { $on_order }; wacht op goedkeuring: { $awaiting }.
seats-report_removing = Wordt verwijderd: { $seats } { $seats ->
        [one] licentie
       *[other] licenties
    }.
seats-reduce_awaiting = Een wijziging van { $seats } { $seats ->
        [one] licentie
       *[other] licenties
    } wacht op goedkeuring in aanvraag { $id }. Eén wijziging tegelijk: beslis of annuleer die eerst en verwijder daarna licenties.

## pending
pending-header = { $count } { $count ->
        [one] goedkeuring wacht
       *[other] goedkeuringen wachten
    } op jou:
pending-none = Er wachten geen goedkeuringen op jou.
pending-line = { $id } { $subject }: { $stage } (bericht { $message })

## away
away-on = Je staat op afwezig: nieuwe goedkeuringen gaan niet meer naar jou (escalaties soms nog wel). Met `away off` ben je terug.
away-off = Welkom terug: goedkeuringen gaan weer naar jou.

## language
# The name of each language, written in the language of this file.
language-en = Engels
language-nl = Nederlands
language-set = Vanaf nu antwoord ik je in het { $language } (een slash-commando volgt de taal van je Discord-app).
language-current = Ik antwoord je in het { $language }. Kies een andere met `{ $prefix } language <code>`: { $choices }.

## audit
audit-header = Geschiedenis van aanvraag { $id } ({ $count } gebeurtenissen):
audit-intact = Auditketen: intact.
audit-broken = Auditketen: GEBROKEN bij gebeurtenis { $row }: { $why }.

## status
status-none = Je hebt nog geen aanvragen. Vraag er een aan met `{ $prefix } request`.
status-yours = Je recente aanvragen:
status-stage_line = {"  "}stap { $seq }: { $stage }: { $state } ({ $own ->
        [yes] vrijgegeven door { $by }, de eigen licentie; geen goedkeuring nodig
       *[no] besloten door { $by }
    })
status-outcome = {"  "}uitkomst: { $outcome }
status-approved_by = ✅ Goedgekeurd door { $who }.
status-approved_with = ✅ Goedgekeurd door { $who }, samen met stap { $seq }.
status-denied_by = ❌ Afgewezen door { $who }: { $reason }
status-cancelled_by = 🚫 Ingetrokken door { $who }.
status-cancelled_denied = 🚫 Vervallen: een andere stap is afgewezen door { $who }.
status-cancelled_failed = 🚫 Vervallen: een andere stap is mislukt.
status-cancelled_expired = 🚫 Vervallen: de aanvraag is verlopen.
status-cancelled_dependency = 🚫 Vervallen: de aankoop van aanvraag { $other } waarop hij wachtte, ging niet door.
status-done = ✔️ Klaar: { $detail }
status-failed = ⚠️ Mislukt: { $reason }
status-waiting_for_seat = ⏳ Wacht op een licentie: er was geen licentie vrij toen de groep zijn licentie toepaste, dus er is een aankoop aan deze aanvraag toegevoegd.
status-expired = ⌛ Verlopen: niemand heeft op tijd besloten.
status-licence_direct = Je { $sku }-licentie: rechtstreeks aan je toegewezen.
status-licence_group = Je { $sku }-licentie: via de groep { $groups }.
status-licence_both = Je { $sku }-licentie: rechtstreeks aan je toegewezen en ook via de groep { $groups }.
status-licence_bundle = Je hebt Power BI Pro via { $sku }.
status-licence_none = Je hebt nu geen Power BI Pro-licentie.

## approval
approval-reduce_window = ⚠️ Microsoft staat het verwijderen van licenties alleen toe kort (ongeveer 7 dagen) na een aankoop, verlenging of uitbreiding; daarbuiten wordt de wijziging geweigerd en verandert er verder niets. Licenties in gebruik worden nooit verwijderd.
approval-title = 🔔 Aanvraag { $id }, stap { $seq } van { $of }: { $stage }
approval-button_approve = Goedkeuren
approval-button_deny = Afwijzen
approval-subject = Wat: { $subject }
approval-requester_linked = Aangevraagd door: { $requester }, gekoppeld aan { $upn }, { $proof }
approval-requester_unlinked = Aangevraagd door: { $requester } (niet gekoppeld aan een directory-account)
approval-reason = Reden: { $reason }
approval-seats = Licenties: { $free } vrij van { $enabled }; beloofd aan open aanvragen: { $promised }; besteld (goedgekeurd, wordt gekocht): { $on_order }; wacht op goedkeuring: { $awaiting }
approval-cost = Bestelling: { $quantity } { $quantity ->
        [one] licentie
       *[other] licenties
    } à { $unit } per licentie per maand; { $cost }
approval-waits_on = Wacht op de licenties die in aanvraag { $other } worden gekocht.
approval-deciders = Mag besluiten ({ $roles }): { $who }
approval-how = Reageer met { $approve } om goed te keuren of { $deny } om af te wijzen; antwoord op dit bericht om een reden te geven.
approval-nobody = op dit moment niemand beschikbaar
approval-by_command = 📝 Goedgekeurd door { $who } met een commando:
approval-self_service = 🔓 Vrijgegeven door { $who }, de eigen licentie (geen goedkeuring nodig):
approval-term_ended = ⏰ De termijn van een licentie die { $who } aanvroeg is afgelopen; vrijgegeven (geen goedkeuring nodig):
approval-term = Termijn: { $days } dagen, tot { $until } (gerekend vanaf het moment dat hij gegeven wordt).
approval-extends = Verlengt de tijdelijke licentie van aanvraag { $id } (die eindigt op { $ends }) met { $days } dagen, tot { $until }.
approval-by_command_line = {"  "}{ $id }: { $stage } ({ $subject })
approval-seat_left_free = 💺 { $who }: aanvraag { $id } is { $state }, maar er is een licentie voor gekocht. Die blijft betaald en vrij voor de volgende aanvraag. Wil je er niet meer voor betalen, dan kan een goedkeurder voor facturering `{ $prefix } seats remove 1` typen zolang Microsoft dat toestaat (ongeveer 7 dagen na de aankoop).

## cost
cost-monthly = { $amount } per maand
cost-annual = { $amount } per jaar ({ $per_month } per maand, jaarlijks betaald)

## cycle
cycle-monthly = maandelijks
cycle-annual = jaarlijks

## stage
stage-reduce = { $quantity } { $quantity ->
        [one] licentie
       *[other] licenties
    } verwijderen
stage-purchase = { $quantity } { $quantity ->
        [one] licentie
       *[other] licenties
    } kopen, { $cycle }
stage-assign = de licentie toewijzen
stage-unassign = de licentie verwijderen

## subject
subject-reduce = { $quantity } { $quantity ->
        [one] Power BI Pro-licentie
       *[other] Power BI Pro-licenties
    } verwijderen
subject-assign = een Power BI Pro-licentie voor { $who }
subject-release = de Power BI Pro-licentie van { $who } teruggeven
subject-revoke = de Power BI Pro-licentie van { $who } innemen
subject-purchase = { $quantity } { $quantity ->
        [one] Power BI Pro-licentie
       *[other] Power BI Pro-licenties
    } kopen, { $cycle }

## summary
summary-line = { $id } { $subject }: { $state }

## state
state-pending = wacht op goedkeuring
state-approved = goedgekeurd
state-executing = wordt uitgevoerd
state-completed = klaar
state-denied = afgewezen
state-cancelled = ingetrokken
state-expired = verlopen
state-failed = mislukt

## decision
decision-own_request = Je kunt niet besluiten over aanvraag { $id }: hij is van jou, of voor jou. Een andere goedkeurder moet dat doen.
decision-not_approver = Alleen goedkeurders kunnen besluiten over aanvraag { $id }; je besluit telt niet mee.
decision-roles_unavailable = Ik kon je beheerdersrollen net niet controleren, dus je besluit over aanvraag { $id } telt niet mee. Probeer het over een minuut opnieuw.
decision-missing_role = Je besluit over aanvraag { $id } telt niet mee: voor deze stap is een van deze rollen nodig: { $roles }.
decision-already_decided = { $who }: aanvraag { $id } was al { $state } door { $by }; je besluit verandert niets.
decision-nobody = niemand
decision-reason_noted = Genoteerd als reden, mocht je aanvraag { $id } afwijzen.

## schedule
schedule-reminder = ⏰ Herinnering { $who }: aanvraag { $id } wacht al { $waited } op een besluit.
schedule-escalation = 📣 { $who }: aanvraag { $id } wacht al { $waited }; iedereen met een van deze rollen mag besluiten: { $roles }.

## outcome
outcome-assignment_not_shown = de toewijzing is gedaan, maar het teruglezen laat haar nog niet zien
outcome-removal_not_shown = het intrekken is gedaan, maar het teruglezen laat de licentie nog zien
outcome-seats_not_shown = het aantal plaatsen toont nog geen { $target } plaatsen
outcome-roles_not_read = de rollen van { $who } zijn niet gelezen
outcome-reduced = { $quantity } { $quantity ->
        [one] licentie
       *[other] licenties
    } verwijderd; de tenant heeft er nu { $enabled }
outcome-reduce_below_use = de tenant zou { $target } licenties hebben maar er zijn er nu { $consumed } in gebruik; er is niets verwijderd
outcome-denied = afgewezen door { $who }: { $reason }
outcome-no_reason = geen reden gegeven
outcome-cancelled = ingetrokken door { $who }
outcome-expired = verlopen na { $after } zonder besluit
outcome-dependency_ended = de aankoop van aanvraag { $other } waarop hij wachtte, ging niet door
outcome-bought = { $quantity } { $quantity ->
        [one] licentie
       *[other] licenties
    } gekocht; de tenant heeft er nu { $enabled }
outcome-assigned = Power BI Pro toegewezen aan { $upn }
outcome-assigned_with_location = Power BI Pro toegewezen aan { $upn } (eerst gebruikslocatie { $country } ingesteld)
outcome-already_held = { $upn } had Power BI Pro al; er is niets gewijzigd
outcome-removed = Power BI Pro verwijderd bij { $upn }
outcome-not_held = { $upn } had de licentie niet meer; er is niets gewijzigd
outcome-role_lost = { $who } heeft geen van de rollen { $roles } meer, dus het goedgekeurde werk is niet uitgevoerd
outcome-no_usage_location = { $upn } heeft geen gebruikslocatie en er is geen standaard ingesteld; een beheerder moet er een instellen in Microsoft 365
outcome-no_free_seat = er was geen licentie vrij toen hij moest worden toegewezen; een goedkeurder kan licenties kopen met `{ $prefix } buy`
outcome-invalid_usage_location = Microsoft 365 weigerde de gebruikslocatie van de gebruiker
outcome-user_gone = de directorygebruiker bestaat niet meer
outcome-account_disabled = het account is uitgeschakeld
outcome-conflict = de licentie botst met een licentie die de gebruiker al heeft ({ $detail })
outcome-forbidden = de bot mag dit niet doen in Microsoft 365 (ontbrekende machtiging)
outcome-invalid = Microsoft 365 weigerde de wijziging ({ $detail })
outcome-unverified = de wijziging is gedaan maar was na { $attempts } controles nog niet zichtbaar ({ $detail }); controleer het in het Microsoft 365-beheercentrum
outcome-gave_up = opgegeven na { $attempts } pogingen; laatste fout: { $error }
outcome-assigned_by_group = Power BI Pro toegewezen aan { $upn } via de groep { $group }
outcome-group_applying = Entra ID past de licentie van de groep toe; opnieuw kijken over { $after }
outcome-group_slow = { $leaving ->
        [yes] Entra ID heeft de licentie van de groep { $group } niet binnen { $wait } weggehaald bij { $upn }; { $upn } is geen lid meer, en een beheerder kan de licentie controleren in het Microsoft 365-beheercentrum
       *[other] Entra ID heeft de licentie van de groep { $group } niet binnen { $wait } toegepast op { $upn }; { $upn } blijft lid, en een beheerder kan de licentiefouten van de groep zien in het Microsoft 365-beheercentrum
    }
outcome-group_failed = de groep { $group } kon { $upn } geen Power BI Pro geven: { $cause }
outcome-membership_undone = { $upn } is weer uit de groep gehaald
outcome-membership_stays = { $upn } weer uit de groep halen mislukte ({ $error }); een beheerder moet het lidmaatschap verwijderen
outcome-removed_from_group = { $upn } is uit de groep { $group } gehaald; Power BI Pro is verwijderd
outcome-seat_needed = er was geen licentie vrij toen de groep { $group } { $upn } een licentie wilde geven; eerst moet er één worden gekocht
outcome-until = hij loopt tot { $until }
outcome-joined = { $first }; { $then }
outcome-extended = de licentie van { $upn } is verlengd tot { $until }
outcome-seat_left_free = de licentie die ervoor is gekocht blijft betaald en vrij voor de volgende aanvraag; een goedkeurder kan die verwijderen met `{ $prefix } seats remove 1` zolang Microsoft dat toestaat (ongeveer 7 dagen na de aankoop)

## group_error
group_error-mutually_exclusive = een van de onderdelen botst met een licentie die de persoon al heeft (MutuallyExclusiveViolation); verwijder die licentie eerst
group_error-dependency = een ander product hangt af van een van de onderdelen (DependencyViolation)
group_error-usage_location = Power BI Pro wordt niet aangeboden in de gebruikslocatie { $country } van de persoon (ProhibitedInUsageLocationViolation)
group_error-no_usage_location = Power BI Pro wordt niet aangeboden in de locatie van de tenant, die geldt voor mensen zonder gebruikslocatie, en er is geen standaard ingesteld (ProhibitedInUsageLocationViolation); een beheerder moet hun gebruikslocatie instellen
group_error-uniqueness = een waarde die uniek moet zijn, zoals een e-mailadres, wordt twee keer gebruikt (UniquenessViolation)
group_error-count = er was geen licentie vrij (CountViolation)
group_error-other = Entra ID meldde { $word }

## drift
drift-missing_licence = { $upn } heeft { $sku } niet meer, die aanvraag { $id } gaf
drift-unexplained_licence = { $upn } heeft { $sku } rechtstreeks toegewezen, en geen aanvraag van mij verklaart dat
drift-membership_licensed = { $upn } is lid van de licentiegroep en heeft { $sku } daarvan, maar geen aanvraag van mij heeft hem of haar toegevoegd
drift-membership_unlicensed = { $upn } is lid van de licentiegroep zonder { $sku } daarvan te hebben, en geen aanvraag van mij heeft hem of haar toegevoegd
drift-seats_over = { $consumed } licenties van { $sku } zijn toegewezen maar er zijn er maar { $enabled } gekocht
drift-seats_changed = mijn laatste wijziging van het aantal licenties (aanvraag { $id }) liet { $target } licenties van { $sku } achter; de tenant heeft er { $enabled }
drift-stuck_request = aanvraag { $id } is mislukt, maar { $upn } heeft { $sku }
drift-corrected_completed = de tenant toont de licentie (gevonden bij een licentiecontrole)
drift-report_title = 🔎 Licentiecontrole: { $count } verschil(len) tussen mijn gegevens en Microsoft 365:
drift-report_agree = 🔎 Licentiecontrole: mijn gegevens en Microsoft 365 komen overeen.
drift-report_line = • { $detail }
drift-report_more = … en nog { $count }; `licensebot reconcile` toont ze allemaal.
drift-report_corrected = Verbeterd in mijn gegevens, waar Microsoft 365 de waarheid is:
drift-report_checked = (gecontroleerd { $at }; ik wijzig Microsoft 365 nooit zelf)
drift-seats_line = Verschillen met Microsoft 365: { $count } (gecontroleerd { $at }); zie de licentiecontrole in het goedkeuringskanaal.

## seat_alert
seat_alert-standing = ⚠️ Power BI Pro-licenties: { $free } vrij van { $enabled } gekocht ({ $percent } % in gebruik).
seat_alert-free_seats = • Onder de alarmgrens van { $below } vrije { $below ->
        [one] licentie
       *[other] licenties
    }.
seat_alert-usage = • Boven de alarmgrens van { $above } % in gebruik.
seat_alert-advice = Koop licenties met `{ $prefix } buy <n>`. Ik werk dit bericht bij als de aantallen veranderen.
seat_alert-recovered = ✅ Power BI Pro-licenties hersteld: { $free } vrij van { $enabled } gekocht ({ $percent } % in gebruik). Het alarm is opgeheven.

## term
term-too_long = Een licentie wordt hier voor hoogstens { $max } dagen gegeven; je vroeg { $days }. Vraag opnieuw met een kortere termijn, bijv. `for { $max }d`.
term-already_ended = De termijn van die licentie is al afgelopen.
term-reminder = Je Power BI Pro-licentie voor { $upn } eindigt op { $until }. Wil je hem houden, vraag dan `{ $prefix } extend` (een goedkeurder beslist); anders wordt hij dan vrijgegeven en blijft de licentie over voor de volgende.
term-reason = de termijn van de licentie van aanvraag { $id } is afgelopen

## reclaim
reclaim-header = ♻️ Of zet een licentie over die niemand gebruikt: een goedkeurder met een toewijzingsrol kan { $emoji } reageren in plaats van te kopen, en de licentie van de eerste houder hieronder gaat na { $grace } naar de aanvrager, tenzij die hem houdt met `{ $prefix } keep`:
reclaim-line_power_bi = {"  "}{ $rank }. { $upn }: Power BI laatst gebruikt { $power_bi }; laatst aangemeld bij Microsoft 365 { $sign_in }
reclaim-line = {"  "}{ $rank }. { $upn }: laatst aangemeld bij Microsoft 365 { $sign_in } (aanmeldingen bij Power BI zelf onbekend)
reclaim-none_since = niet sinds { $since }
reclaim-days = { $days } { $days ->
        [one] dag
       *[other] dagen
    }
reclaim-never = niets bekend
reclaim-unknown = {"  "}Laatste aanmelding onbekend: { $why }
reclaim-not_here = ♻️ zet alleen een licentie over in plaats van te kopen bij een wachtende aankoop van één licentie voor de licentie van één persoon; aanvraag { $id } is dat niet.
reclaim-nobody = Aanvraag { $id }: er is niemand om een licentie van over te zetten (geen vermelde houder die hem niet gehouden heeft).
reclaim-chosen = ♻️ { $who } koos ervoor de licentie van { $upn } over te zetten in plaats van te kopen: hij gaat over op { $until }, tenzij die antwoordt met `{ $prefix } keep`.
reclaim-notice = Een goedkeurder koos ervoor je Power BI Pro-licentie over te zetten naar iemand die hem nodig heeft, omdat je Power BI een tijd niet gebruikt hebt. Hij gaat over op { $until }. Wil je hem houden, antwoord dan `{ $prefix } keep`, hier of in een kanaal.
reclaim-told_requester = Aanvraag { $id }: in plaats van een licentie te kopen koos een goedkeurder ervoor er een over te zetten die niemand gebruikt; hij is van jou op { $until }, tenzij de houder hem houdt.
reclaim-kept = ♻️ { $upn } houdt de licentie; deze aankoop wacht weer op een goedkeurder voor facturering.
reclaim-kept_told = Aanvraag { $id }: { $upn } houdt de licentie, dus die gaat niet over; de aankoop wacht weer op een goedkeurder voor facturering.
reclaim-moving = ♻️ De licentie van { $upn } gaat over.
reclaim-taken = Je Power BI Pro-licentie ({ $upn }) is overgezet naar { $to }, zoals gemeld. Heb je hem weer nodig, vraag dan met `!pro request`.
reclaim-moved = de licentie van { $from } is overgezet: { $detail }
reclaim-cannot_take = de licentie van { $upn } komt van een groep die de bot niet beheert (of met een andere licentie), dus kan niet worden overgezet
reclaim-still_held = { $upn } heeft de licentie nog; opnieuw kijken

## keep
keep-nothing = Geen goedkeurder heeft ervoor gekozen je licentie over te zetten; er is niets te houden.
keep-done = Je houdt je Power BI Pro-licentie; de goedkeurder en de aanvrager krijgen bericht.

## extend
extend-nothing = Je hebt geen tijdelijke licentie om te verlengen. Een licentie vraag je aan met `!pro request`.

## tell
tell-group_needs_seat = Aanvraag { $id }: er was geen licentie vrij toen de groep { $upn } een licentie wilde geven, dus eerst moet er één worden gekocht. Die aankoop wacht nu op een goedkeurder voor facturering; je hoort het als het klaar is.
tell-approved = Aanvraag { $id } ({ $subject }) is goedgekeurd; ik voer hem uit.
tell-closed = Aanvraag { $id } ({ $subject }) is { $state }: { $outcome }.
tell-completed_assign = Aanvraag { $id } is klaar: { $detail }. Je kunt er nu mee inloggen bij Power BI.
tell-completed_purchase = Aanvraag { $id } is klaar: { $detail }.
tell-completed_removal = Aanvraag { $id } is klaar: { $detail }.
tell-purchase_done_waiting = Aanvraag { $id }: { $detail }. De licentie zelf moet nog worden goedgekeurd.
tell-denial_reason = Aanvraag { $id }: de reden die { $who } gaf voor de afwijzing: { $reason }
tell-batch_summary = Je aanvragen { $first } tot en met { $last }: { $done } van { $total } klaar.
tell-batch_line = {"  "}{ $id } { $subject }: { $state }: { $outcome }
tell-approver_failed = Aanvraag { $id } die jij hebt goedgekeurd, is mislukt: { $reason }.
tell-licence_taken = Je Power BI Pro-licentie ({ $upn }) is ingetrokken door { $who } (aanvraag { $id }). Reden: { $reason }. Heb je hem nog nodig, vraag hem dan opnieuw aan met `{ $prefix } request`.

## purchase
purchase-reduce_task = 🛒 { $who }: taak voor aanvraag { $id }: verwijder { $quantity } { $quantity ->
        [one] Power BI Pro-licentie
       *[other] Power BI Pro-licenties
    }, zodat de tenant er in totaal { $target } heeft (nu { $enabled }). { $how } Microsoft staat dit alleen kort na een aankoop of verlenging toe. Typ `{ $prefix } purchased { $number }` als het klaar is; ik controleer het aantal ook zelf.
purchase-task = 🛒 { $who }: aankooptaak voor aanvraag { $id }: koop { $quantity } { $quantity ->
        [one] Power BI Pro-licentie
       *[other] Power BI Pro-licenties
    }, { $cycle }, zodat de tenant er in totaal { $target } heeft (nu { $enabled }). { $how } Typ `{ $prefix } purchased { $number }` als het klaar is; ik controleer het aantal ook zelf en ga door zodra de licenties er zijn.
purchase-how_admin_center = In het Microsoft 365-beheercentrum: Facturering > Uw producten > Power BI Pro > Licenties toevoegen/verwijderen, en zet het totaal op { $target }.
purchase-how_reseller = Dit abonnement loopt via een reseller (Enterprise Agreement of volumelicentie): bestel de licenties daar.
purchase-task_reminder = ⏰ { $who }: de aankoop voor aanvraag { $id } staat nog open: tot nu toe { $enabled } van { $target } licenties. Typ `{ $prefix } purchased { $number }` als het klaar is.
purchase-not_yet = Ik zie de licenties van aanvraag { $id } nog niet: { $enabled } van { $target }. Het kan een paar minuten duren voordat Microsoft ze toont; ik blijf controleren.
purchase-confirmed = Dank je: er zijn { $enabled } licenties; aanvraag { $id } gaat verder.
purchase-none = Bij aanvraag { $id } wacht geen aankoop op iemand.

# Beschrijvingen van de Discord-slashopdracht /pro en zijn opties (hoogstens 100 tekens).
## discord
discord-seats_remove = Te verwijderen licenties (alleen kort na een aankoop of verlenging)
# The Discord locales (their codes, separated by spaces) that show this language.
discord-locales = nl
discord-pro = Power BI Pro-licenties: aanvragen, volgen, goedkeuren
discord-request = Vraag een Power BI Pro-licentie aan
discord-request_term = Voor hoe lang (bijv. 30d, 2w, 3m)
discord-extend = Houd je tijdelijke Power BI Pro-licentie langer
discord-keep = Houd je Power BI Pro-licentie die naar iemand anders zou gaan
discord-extend_term = Voor hoeveel langer (bijv. 30d, 2w, 3m)
discord-request_reason = Waarom je hem nodig hebt
discord-request_for = Iemand anders voor wie je aanvraagt (alleen goedkeurders)
discord-status = Je recente aanvragen, of de details van één aanvraag
discord-status_id = Een aanvraagnummer
discord-cancel = Trek een aanvraag in die nog niet is begonnen
discord-cancel_id = Het aanvraagnummer
discord-release = Geef je Power BI Pro-licentie terug
discord-link = Koppel je Discord-account aan je Microsoft 365-account
discord-link_upn = Je Microsoft 365-aanmeldnaam, bijv. jij@contoso.com
discord-help = Wat de bot kan
discord-help_command = Eén opdracht om uit te leggen
discord-buy = Koop extra Power BI Pro-licenties (alleen goedkeurders)
discord-buy_seats = Hoeveel licenties
discord-buy_cycle = Factureringsperiode
discord-assign = Geef één of meer mensen Power BI Pro (alleen goedkeurders)
discord-assign_users = UPN's of @vermeldingen, gescheiden door spaties
discord-revoke = Neem een Power BI Pro-licentie in (alleen goedkeurders)
discord-revoke_user = Een UPN of een @vermelding
discord-seats = Licenties gekocht, toegewezen, vrij en besteld (alleen goedkeurders)
discord-pending = Goedkeuringen die op jou wachten (alleen goedkeurders)
discord-spend = Wat de bot per maand kocht, en wat er van het budget over is
discord-spend_month = De maand, zoals 2026-12 (standaard: de laatste twaalf)
discord-away = Stop of hervat het sturen van goedkeuringen naar jou (alleen goedkeurders)
discord-away_state = on: afwezig, off: terug
discord-audit = De volledige geschiedenis van een aanvraag (alleen goedkeurders)
discord-audit_id = Het aanvraagnummer
discord-purchased = Meld dat je de licenties van een aankooptaak hebt gekocht (alleen goedkeurders)
discord-purchased_id = Het aanvraagnummer
discord-revoke_reason = Waarom (wie de licentie verliest krijgt het te horen)
discord-unlink = Maak de koppeling met een Microsoft 365-account ongedaan (jouw eigen; goedkeurders: van een ander)
discord-unlink_user = Goedkeurders: een UPN of @vermelding waarvan de koppeling weg moet
discord-link_user = Goedkeurders: de persoon wiens koppeling je bevestigt
discord-verify = Stuur de code uit de mail (alleen jij en de bot zien hem)
discord-verify_code = De code van 8 cijfers
discord-language = De taal waarin ik je antwoord
discord-language_code = De taal

## verify
verify-done = Geverifieerd: je chataccount treedt nu op voor { $name } ({ $upn }). Goedkeurders zien bij je aanvragen hoe dat bewezen is.
verify-expired = Die code is verlopen (codes gelden 15 minuten). Vraag een nieuwe met `{ $prefix } link { $upn }`.
verify-nothing_pending = Je hebt geen koppeling die op een code wacht. Begin met `{ $prefix } link jij@contoso.com`.
verify-public = Typ een code nooit waar anderen hem kunnen lezen: ik heb het bericht verwijderd waar dat kon, en die code werkt niet meer. Begin opnieuw met `{ $prefix } link { $upn }` en stuur de nieuwe code in een privébericht aan mij.
verify-wrong = Dat is niet de code. Nog { $left } pogingen voordat de koppeling geblokkeerd wordt.
verify-done_sign_in = Geverifieerd door aanmelding: je chataccount treedt nu op voor { $upn }. Goedkeurders zien bij je aanvragen hoe dat bewezen is.

## mail
mail-subject = Je code om een chataccount aan je Microsoft 365-account te koppelen
mail-body =
    Het chataccount { $name } ({ $chat_user }) heeft de licentiebot gevraagd op te mogen treden voor je Microsoft 365-account { $upn }.

    Was jij dat, stuur deze code dan binnen { $minutes } minuten in een privébericht aan de bot, als `{ $prefix } verify CODE`:

    { $code }

    Was jij het niet, negeer deze mail dan: zonder de code gebeurt er niets, en de bot vraagt er nergens anders om.

## page
page-not_valid_title = Deze link is niet te gebruiken
page-not_valid = Deze aanmeldlink is niet geldig: hij is al gebruikt, te oud (links gelden 10 minuten) of verkeerd overgenomen. Er is niets gekoppeld.
page-start_again = Begin opnieuw in de chat met `{ $prefix } link jij@contoso.com`; ik stuur je een nieuwe link.
page-not_finished_title = De aanmelding is niet afgerond
page-not_finished = De aanmelding is bij Microsoft afgebroken of geweigerd, dus er is niets gekoppeld.
page-not_checked = Ik kon de aanmelding niet bij Microsoft controleren (het antwoord werd geweigerd of was ongeldig), dus er is niets gekoppeld.
page-wrong_account_title = Dat is een ander account
page-other_tenant = Je hebt je aangemeld bij een andere organisatie dan die van deze bot. Er is niets gekoppeld. Meld je aan met { $upn }, je account in deze organisatie, nadat je in de chat opnieuw begonnen bent.
page-other_account = Je hebt je aangemeld met een ander account dan { $upn }. Er is niets gekoppeld. Is { $upn } van jou, begin dan opnieuw in de chat en meld je aan als { $upn }.
page-confirm_title = Bevestig de koppeling
page-confirm = Je bent aangemeld als { $upn }. Mag het chataccount { $name } voor dit account optreden (de Power BI Pro-licentie ervoor aanvragen en teruggeven)? Bevestig alleen als { $name } je eigen chataccount is. Heb je hier niet om gevraagd, sluit deze pagina dan: er gebeurt niets.
page-confirm_button = Ja, koppel mijn chataccount
page-done_title = Gekoppeld
page-done = Je chataccount treedt nu op voor { $upn }. Je kunt deze pagina sluiten en teruggaan naar de chat.
page-error_title = Er ging iets mis
page-unavailable = Ik kon de aanmelding van Microsoft nu niet bereiken, dus er is niets gekoppeld. Probeer het over een paar minuten opnieuw.

## group
group-named = { $name } (eigenaren: { $owners })
group-named_no_owners = { $name } (zonder eigenaren: vraag een beheerder)

## governance
governance-auto_approved = 🤖 Goedgekeurd door de regel “{ $rule }” (er was een licentie vrij); er is geen goedkeurder gevraagd. Een goedkeurder kan de licentie terugnemen met `{ $prefix } revoke`.
governance-by_rule = de regel “{ $rule }”
governance-two_person = 🔐 Vier-ogenprincipe: deze aankoop moet door twee verschillende mensen worden goedgekeurd ({ $why }).
governance-above_seats = meer dan { $max } licenties
governance-above_cost = { $cost } per maand, boven { $max }
governance-over_budget = 💰 Boven het budget van deze maand: { $spent } deze maand gekocht of besteld, budget { $budget }; deze aankoop gaat er { $over } overheen. Alleen { $roles } mag hem goedkeuren.
governance-approvals_so_far = ✅ { $count } van { $needed } goedkeuringen: { $who }. Wacht op een tweede goedkeurder.
governance-approved_by_two = ✅ Goedgekeurd door { $first } en { $second }.
governance-same_approver = { $who }, je hebt aanvraag { $id } al goedgekeurd; het vier-ogenprincipe vraagt een tweede goedkeurder, dus hij wacht nog.
governance-refused_over_budget = Aanvraag { $id } zou het budget van deze maand met { $over } overschrijden ({ $spent } deze maand gekocht of besteld, budget { $budget }), dus daarvoor is { $roles } nodig. Er is niets goedgekeurd.

## spend
spend-header = Uitgaven aan Power BI Pro-licenties ({ $currency } per maand van elke aankoop, per maand van aankoop):
spend-line = {"  "}{ $month }: { $purchases } { $purchases ->
        [one] aankoop
       *[other] aankopen
    }, { $seats } { $seats ->
        [one] licentie
       *[other] licenties
    }, { $spent }
spend-none = Niets gekocht in { $month }.
spend-nothing_yet = Nog niets gekocht.
spend-budget = Budget voor { $month }: { $budget }; gebruikt { $used } (met goedgekeurde bestellingen); over { $left }.
spend-no_budget = Er is geen maandbudget ingesteld.

## discord_name
# De namen van /pro, de subopdrachten en opties zoals iemand ze in deze taal ziet
# (de bot leest de Engelse namen terug; Discord wil kleine letters, geen spaties, hoogstens 32).
discord_name-assign = toewijzen
discord_name-audit = geschiedenis
discord_name-away = afwezig
discord_name-buy = kopen
discord_name-cancel = annuleren
discord_name-code = code
discord_name-command = commando
discord_name-cycle = facturering
discord_name-extend = verlengen
discord_name-for = voor
discord_name-help = hulp
discord_name-id = nummer
discord_name-keep = houden
discord_name-language = taal
discord_name-link = koppelen
discord_name-month = maand
discord_name-pending = openstaand
discord_name-pro = pro
discord_name-purchased = gekocht
discord_name-reason = reden
discord_name-release = teruggeven
discord_name-remove = verwijderen
discord_name-request = aanvragen
discord_name-revoke = afnemen
discord_name-seats = licenties
discord_name-spend = uitgaven
discord_name-state = stand
discord_name-status = status
discord_name-term = termijn
discord_name-unlink = ontkoppelen
discord_name-upn = upn
discord_name-user = persoon
discord_name-users = personen
discord_name-verify = bevestigen

## help_example
# Een voorbeeld van elk commando, getoond door `help <commando>`.
help_example-assign = `{ $prefix } assign alice@contoso.com bob@contoso.com`
help_example-audit = `{ $prefix } audit 12`
help_example-away = `{ $prefix } away on`
help_example-buy = `{ $prefix } buy 5 annual`
help_example-cancel = `{ $prefix } cancel 12`
help_example-extend = `{ $prefix } extend for 30d`
help_example-help = `{ $prefix } help request`
help_example-keep = `{ $prefix } keep`
help_example-language = `{ $prefix } language nl`
help_example-link = `{ $prefix } link alice@contoso.com`
help_example-pending = `{ $prefix } pending`
help_example-purchased = `{ $prefix } purchased 12`
help_example-release = `{ $prefix } release`
help_example-request = `{ $prefix } request for 30d ik maak het maandelijkse verkooprapport`
help_example-revoke = `{ $prefix } revoke alice@contoso.com is naar een ander team gegaan`
help_example-seats = `{ $prefix } seats remove 2`
help_example-spend = `{ $prefix } spend 2026-11`
help_example-status = `{ $prefix } status 12`
help_example-unlink = `{ $prefix } unlink`
help_example-verify = `{ $prefix } verify 12345678`

## Datums, geld en de licentiegrafiek.
date-day = { $dd }-{ $mm }-{ $year }
date-minute = { $date } { $hh }:{ $min } UTC
date-short = { $day } { $month ->
    [1] jan
    [2] feb
    [3] mrt
    [4] apr
    [5] mei
    [6] jun
    [7] jul
    [8] aug
    [9] sep
    [10] okt
    [11] nov
   *[other] dec
}
date-month = { $month ->
    [1] jan
    [2] feb
    [3] mrt
    [4] apr
    [5] mei
    [6] jun
    [7] jul
    [8] aug
    [9] sep
    [10] okt
    [11] nov
   *[other] dec
} { $year }
money = { $whole },{ $cents } { $currency }
chart-title = { $sku }-licenties, { $days ->
    [one] afgelopen dag
   *[other] afgelopen { $days } dagen
}
chart-bought = gekocht
chart-assigned = toegewezen
chart-pending = aanvragen die op een besluit wachten
chart-spend = Uitgaven per maand ({ $currency })
chart-budget = maandbudget
chart-alt = Grafiek van de { $sku }-licenties, gekocht en toegewezen, en de wachtende aanvragen, over { $days ->
    [one] de afgelopen dag
   *[other] de afgelopen { $days } dagen
}.
