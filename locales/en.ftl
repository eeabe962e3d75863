# licensebot message catalogue: English (Project Fluent's format).
# Every sentence the bot says to a person. `{ $name }` is a parameter filled in by the bot; a
# count chooses its form with `{ $n -> [one] … *[other] … }`. The code writes a key with dots
# (`request.created`), this file with dashes (`request-created`).
# A translation must keep every key and the same parameters, and give every counted form
# each plural category of its language (tests check it).

## error
error-internal = Something went wrong on my side; the operator can see it in the logs. Please try again in a minute.

## parse
parse-suggest = Looking for a Power BI Pro licence? Type `{ $prefix } request` (add a reason if you like), and I'll route it to an administrator.
parse-unknown = I don't know that command. Here is what I can do:
parse-usage = Usage: { $usage }
parse-usage_with_problem = { $problem }. Usage: { $usage }
parse-too_long = That message is too long for me (at most { $max } characters).

## parse.problem
parse-problem-unexpected = `{ $token }` was not expected here
parse-problem-one_at_a_time = `{ $token }` was not expected here: revoke takes one person at a time
parse-problem-not_a_person = `{ $token }` is not a UPN (name@contoso.com) or a mention (@name)
parse-problem-bad_mention = `{ $token }` is not a valid mention
parse-problem-bad_upn = `{ $token }` is not a valid UPN: { $why }
parse-problem-need_person = say who: a UPN (name@contoso.com) or a mention (@name)
parse-problem-need_upn = give your UPN, such as name@contoso.com
parse-problem-link_needs_upn = link needs your UPN (name@contoso.com), not a mention
parse-problem-need_request_number = give a request number, such as #12
parse-problem-not_a_request_number = `{ $token }` is not a request number
parse-problem-reason_too_long = the reason is too long (at most { $max } characters)
parse-problem-too_many_people = too many users (at most { $max })
parse-problem-need_code = give the { $digits }-digit code from the mail
parse-problem-need_seats = give a number of seats from 1 to { $max }
parse-problem-not_a_cycle = `{ $token }` is not a billing cycle: use monthly or annual
parse-problem-say_on_or_off = say on or off
parse-problem-not_a_command = `{ $token }` is not a command
parse-problem-bad_term = `{ $token }` is not a term the bot gives: write 1 to { $max } days as `30d`, `2w` or `3m` (months of 30 days)
parse-problem-need_term = name a term such as `30d`, `2w` or `3m` (months of 30 days)
parse-problem-not_a_month = `{ $token }` is not a month: write it like 2026-12
parse-problem-not_a_language = `{ $token }` is not a language I speak: choose { $choices }

## parse.upn
parse-upn-no_at = it has no @
parse-upn-local_length = the part before @ must have 1 to 113 characters
parse-upn-local_characters = the part before @ may only hold letters, digits and ' . - _ ! # ^ ~
parse-upn-local_dots = dots may not start, end or repeat in the part before @
parse-upn-domain = the domain must be a DNS name such as contoso.com

## help
help-header = Commands:
help-approver_header = For approvers:
help-example = Example: { $example }
help-more = `{ $prefix } help <command>` shows one command with an example.
help-request = `{ $prefix } request [for <upn|@user>] [for 30d] [reason…]`: ask for a Power BI Pro licence, for a term if you like (for someone else: approvers only)
help-extend = `{ $prefix } extend [for 30d]`: ask to keep your time-bound licence longer (a new approval)
help-keep = `{ $prefix } keep`: keep your licence when an approver chose to move it to someone who needs it
help-link = `{ $prefix } link <upn>`: prove which Microsoft 365 account is yours: I mail a code to it (approvers: `{ $prefix } link @user <upn>` vouches for someone)
help-status = `{ $prefix } status [id]`: your recent requests, or the details of one
help-cancel = `{ $prefix } cancel <id>`: withdraw a request that has not started
help-release = `{ $prefix } release`: give your Power BI Pro licence back
help-help = `{ $prefix } help [command]`: this list, or one command
help-buy = `{ $prefix } buy <n> [monthly|annual]`: buy n more Power BI Pro seats
help-assign = `{ $prefix } assign <upn|@user>…`: give Power BI Pro to one or more people
help-revoke = `{ $prefix } revoke <upn|@user> [reason…]`: take a Power BI Pro licence away (the person who loses it is told, with the reason)
help-seats = `{ $prefix } seats [remove <n>]`: seats bought, assigned, free and on order; or remove n seats
help-pending = `{ $prefix } pending`: approvals waiting for you
help-away = `{ $prefix } away on|off`: stop or resume routing approvals to you
help-audit = `{ $prefix } audit <id>`: the full history of a request

help-purchased = `{ $prefix } purchased <id>`: say that you bought the seats of a purchase task (manual purchase mode)
help-unlink = `{ $prefix } unlink`: undo the link of your chat account to a Microsoft 365 account (approvers: `{ $prefix } unlink <upn|@user>` undoes someone else's)
help-verify = `{ $prefix } verify <code>`: the code from the mail, sent to me in a direct message
help-spend = `{ $prefix } spend [YYYY-MM]`: what the bot bought per month, and the budget left
help-language = `{ $prefix } language [en|nl]`: the language I answer you in (a slash command follows your Discord language)
## command
command-approvers_only = Only approvers can use `{ $command }`.

## link
link-needed = First link your chat account to your Microsoft 365 account: `{ $prefix } link you@contoso.com`; I'll mail that account a code to prove it's yours.
link-approver_fixed = As an approver you are linked to { $upn } by the bot's configuration.
link-target_unlinked = { $who } has not verified a link to a Microsoft 365 account yet; they can use `{ $prefix } link`, or name their UPN.
link-unlink_others_approvers_only = Only approvers can undo someone else's link. To undo your own, type `{ $prefix } unlink`.
link-configured = { $who } is linked to { $upn } by the bot's configuration; only an operator can change that, in the settings.
link-none = Your chat account is not linked to a Microsoft 365 account, so there is nothing to undo.
link-none_for_user = { $who } is not linked to a Microsoft 365 account.
link-none_for_upn = No chat account is linked to { $upn }.
link-removed = Your chat account is no longer linked to { $upn }. To link an account again: `{ $prefix } link you@contoso.com`.
link-removed_by = { $who } undid the link between your chat account and { $upn }. If that was a mistake, link it again with `{ $prefix } link { $upn }`.
link-removed_other = Unlinked { $who } from { $upn }; I've told them.
link-unproven = { $how ->
        [locked] Your link to { $upn } is locked after too many wrong codes. Start again with `{ $prefix } link { $upn }` for a new code.
        [code] Your link to { $upn } is not proven yet. I mailed a code to that account: send `{ $prefix } verify CODE` to me in a direct message. No mail? Start again with `{ $prefix } link { $upn }`.
       *[other] Your link to { $upn } is not proven yet. Get a code by mail with `{ $prefix } link { $upn }` and send it to me in a direct message, or ask an approver to confirm the link.
    }
link-code_sent = I've mailed a code to the mailbox of { $upn }. Send `{ $prefix } verify CODE` to me in a direct message within { $minutes } minutes; never type the code in a channel.
link-mail_failed = I couldn't send the mail to the mailbox of { $upn } just now, so nothing is proven. Try `{ $prefix } link { $upn }` again in a few minutes, or ask an approver to confirm your link.
link-no_mail_proof = I've noted that you say you are { $upn }, but I can't mail that account a code. Ask an approver to confirm it (`{ $prefix } link @you { $upn }`); until then you can't act for it.
link-rate_limited = Too many codes were asked for in the last hour (at most { $max } per chat account and per Microsoft 365 account). Please try again later.
link-already_verified = Your chat account is already verified as { $upn }.
link-disabled = The account { $upn } is disabled, so it can't be linked.
link-guest = { $upn } is a guest account; this bot does not link guest accounts.
link-attest_approvers_only = Only approvers can confirm someone else's link.
link-attest_needs_role = Confirming someone's link needs one of these roles: { $roles }.
link-attested = Confirmed: { $who } acts for { $upn }, verified by you. I've told them.
link-attested_you = { $who } confirmed that your chat account acts for { $upn }. You can ask for its Power BI Pro licence now.
link-moved_away = Your chat account no longer acts for { $upn }: another chat account proved that it owns it. If that was not you, tell an approver (and link again with `{ $prefix } link { $upn }`).
link-notice = Links must now be proven: your link to { $upn } waits for that. Type `{ $prefix } link { $upn }` to get a code by mail.
link-proof_sign_in = verified by sign-in on { $date }
link-proof_mail_code = verified by mailed code on { $date }
link-proof_admin = verified by { $who } on { $date }
link-proof_config = linked by the bot's configuration
link-proof_none = not verified (asked before links were verified)
link-sign_in_link =
    Prove that { $upn } is yours by signing in to Microsoft 365: { $url }
    The link works once, for { $minutes } minutes, and only for you; you'll be asked to confirm before anything is linked.
link-sign_in_sent = I've sent you a link by direct message to sign in as { $upn }; that proves the account is yours.
link-sign_in_also = Or sign in with the link I've sent you by direct message.

## directory
directory-not_found = I can't find { $upn } in the directory.

## backend
backend-seats_unavailable = I can't read the seat count from Microsoft 365 right now, so nothing was changed. Please try again in a minute.
backend-directory_unavailable = I can't reach the directory right now, so nothing was changed. Please try again in a minute.
backend-roles_unavailable = I can't check your administrator roles right now, so nothing was changed. Please try again in a minute.

## policy
policy-disabled = The account { $upn } is disabled, so it can't get a licence.
policy-already_pro = { $upn } already has a Power BI Pro licence ({ $sku }); nothing to do.
policy-included = { $upn } already has Power BI Pro through { $sku }; no separate licence is needed.
policy-guest = { $upn } is a guest account. Guests get Power BI Pro only after the organisation has checked its agreement with Microsoft, and this bot is not allowed to assign to guests.
policy-already_open = There is already an open request for { $upn }: { $id }.
policy-too_many_open = You have { $open } open requests, and the limit is { $max }. Wait for one to finish, or cancel one.
policy-already_pro_group = { $upn } already has Power BI Pro through the group { $groups }; nothing to do.

## request
request-created = Request { $id } is in: { $subject }. I've asked an administrator to approve it and will let you know.
request-created_with_purchase = Request { $id } is in: { $subject }. No seat is free, so { $quantity } { $quantity ->
        [one] seat
       *[other] seats
    } must be bought first; I've asked the administrators and will let you know.
request-created_waiting = Request { $id } is in: { $subject }. It waits for seats that are being bought; I'll let you know.
request-created_approved = Request { $id } is approved and queued: { $subject }.
request-for_others_approvers_only = Only approvers can ask for a licence for someone else. Ask for yourself with `request`, or ask an approver.
request-unknown = There is no request { $id }.
request-not_yours = Request { $id } is not yours, so I can't show or change it.
request-not_a_requester = You are not among the people who may ask for a Power BI Pro licence here; ask an administrator.

## cancel
cancel-closed = Request { $id } is already { $state }.
cancel-executing = Request { $id } is being carried out right now and can't be cancelled.
cancel-nothing = Nothing of request { $id } could be cancelled.

## release
release-nothing = You have no Power BI Pro licence to give back.
release-included = Your Power BI Pro comes with { $sku }, so there is nothing to give back separately.
release-started = Giving your Power BI Pro licence back (request { $id }); I'll confirm when it's done.
release-from_group = Your Power BI Pro licence comes from the group { $groups }, so giving it back here would free no seat. Ask the group's owners or an administrator to take you out of the group.

## revoke
revoke-nothing = { $upn } has no Power BI Pro licence of its own to take away.
revoke-from_group = { $upn } gets Power BI Pro from the group { $groups }, so taking a licence away here would change nothing. Ask the group's owners or an administrator to take { $upn } out of the group.

## seats
seats-reduce_busy = Request { $id } is changing the seat count right now (approved, being carried out); remove seats once that is done.
seats-reduce_floor = Removing { $seats } of the { $enabled } seats would leave fewer than the { $floor } in use or promised to open requests.
seats-report = { $sku }: { $enabled } seats bought, { $consumed } assigned, { $free } free. Promised to open requests: { $promised }; on order (approved, being bought): { $on_order } { $on_order ->
        [one] seat
       *[other] seats
    }; awaiting approval: { $awaiting } { $awaiting ->
        [one] seat
       *[other] seats
    }.
seats-report_removing = Being removed: { $seats } { $seats ->
        [one] seat
       *[other] seats
    }.
seats-reduce_awaiting = A change of { $seats } { $seats ->
        [one] seat
       *[other] seats
    } waits for approval in request { $id }. One seat change at a time: decide or cancel that one first, then remove seats.

## pending
pending-header = { $count } { $count ->
        [one] approval
       *[other] approvals
    } waiting for you:
pending-none = No approvals are waiting for you.
pending-line = { $id } { $subject }: { $stage } (message { $message })

## away
away-on = You're marked away: new approvals won't be routed to you (escalations still may). `away off` to come back.
away-off = Welcome back: approvals are routed to you again.

## language
# The name of each language, written in the language of this file.
language-en = English
language-nl = Dutch
language-set = From now on I answer you in { $language } (a slash command follows the language of your Discord app).
language-current = I answer you in { $language }. Choose another with `{ $prefix } language <code>`: { $choices }.

## audit
audit-header = History of request { $id } ({ $count } events):
audit-intact = Audit chain: intact.
audit-broken = Audit chain: BROKEN at event { $row }: { $why }.

## status
status-none = You have no requests yet. Ask with `{ $prefix } request`.
status-yours = Your recent requests:
status-stage_line = {"  "}stage { $seq }: { $stage }: { $state } ({ $own ->
        [yes] released by { $by }, their own licence; no approval needed
       *[no] decided by { $by }
    })
status-outcome = {"  "}outcome: { $outcome }
status-approved_by = ✅ Approved by { $who }.
status-approved_with = ✅ Approved by { $who } together with stage { $seq }.
status-denied_by = ❌ Denied by { $who }: { $reason }
status-cancelled_by = 🚫 Cancelled by { $who }.
status-cancelled_denied = 🚫 Cancelled: another stage was denied by { $who }.
status-cancelled_failed = 🚫 Cancelled: another stage failed.
status-cancelled_expired = 🚫 Cancelled: the request expired.
status-cancelled_dependency = 🚫 Cancelled: the purchase of request { $other } it waited on did not go through.
status-done = ✔️ Done: { $detail }
status-failed = ⚠️ Failed: { $reason }
status-waiting_for_seat = ⏳ Waiting for a seat: no seat was free when the group applied its licence, so a purchase was added to this request.
status-expired = ⌛ Expired: nobody decided in time.
status-licence_direct = Your { $sku } licence: assigned to you directly.
status-licence_group = Your { $sku } licence: from the group { $groups }.
status-licence_both = Your { $sku } licence: assigned to you directly and also from the group { $groups }.
status-licence_bundle = You have Power BI Pro through { $sku }.
status-licence_none = You have no Power BI Pro licence now.

## approval
approval-reduce_window = ⚠️ Microsoft allows removing seats only within a short window (about 7 days) after a purchase, renewal or adding seats; outside it the change is refused, and nothing else changes. Seats in use are never removed.
approval-title = 🔔 Request { $id }, stage { $seq } of { $of }: { $stage }
approval-button_approve = Approve
approval-button_deny = Deny
approval-subject = What: { $subject }
approval-requester_linked = Asked by: { $requester }, linked to { $upn }, { $proof }
approval-requester_unlinked = Asked by: { $requester } (not linked to a directory account)
approval-reason = Reason: { $reason }
approval-seats = Seats: { $free } free of { $enabled }; promised to open requests: { $promised }; on order (approved, being bought): { $on_order }; awaiting approval: { $awaiting }
approval-cost = Order: { $quantity } { $quantity ->
        [one] seat
       *[other] seats
    } at { $unit } per seat per month; { $cost }
approval-waits_on = Waits for the seats bought in request { $other }.
approval-deciders = May decide ({ $roles }): { $who }
approval-how = React { $approve } to approve or { $deny } to deny; reply to this message to give a reason.
approval-nobody = nobody available right now
approval-by_command = 📝 Approved by { $who } with a command:
approval-self_service = 🔓 Released by { $who }, their own licence (no approval needed):
approval-term_ended = ⏰ The term of a licence { $who } asked for ended; released (no approval needed):
approval-term = Term: { $days } days, until { $until } (counted from when it is given).
approval-extends = Extends the time-bound licence of request { $id } (it ends { $ends }) by { $days } days, until { $until }.
approval-by_command_line = {"  "}{ $id }: { $stage } ({ $subject })
approval-seat_left_free = 💺 { $who }: request { $id } is { $state }, but a seat was bought for it. That seat stays paid and free for the next request. To stop paying for it, a billing approver can type `{ $prefix } seats remove 1` while Microsoft still allows it (about 7 days after the purchase).

## cost
cost-monthly = { $amount } per month
cost-annual = { $amount } per year ({ $per_month } per month, paid yearly)

## cycle
cycle-monthly = monthly
cycle-annual = annual

## stage
stage-reduce = remove { $quantity } { $quantity ->
        [one] seat
       *[other] seats
    }
stage-purchase = buy { $quantity } { $quantity ->
        [one] seat
       *[other] seats
    }, { $cycle }
stage-assign = assign the licence
stage-unassign = remove the licence

## subject
subject-reduce = remove { $quantity } Power BI Pro { $quantity ->
        [one] seat
       *[other] seats
    }
subject-assign = a Power BI Pro licence for { $who }
subject-release = give back the Power BI Pro licence of { $who }
subject-revoke = take away the Power BI Pro licence of { $who }
subject-purchase = buy { $quantity } Power BI Pro { $quantity ->
        [one] seat
       *[other] seats
    }, { $cycle }

## summary
summary-line = { $id } { $subject }: { $state }

## state
state-pending = waiting for approval
state-approved = approved
state-executing = being carried out
state-completed = done
state-denied = denied
state-cancelled = cancelled
state-expired = expired
state-failed = failed

## decision
decision-own_request = You can't decide on request { $id }: it is yours, or it is for you. Another approver has to.
decision-not_approver = Only approvers can decide on request { $id }; your decision was not counted.
decision-roles_unavailable = I couldn't check your administrator roles just now, so your decision on request { $id } was not counted. Please decide again in a minute.
decision-missing_role = Your decision on request { $id } was not counted: this step needs one of these roles: { $roles }.
decision-already_decided = { $who }: request { $id } was already { $state } by { $by }; your decision changes nothing.
decision-nobody = nobody
decision-reason_noted = Noted as the reason, should you deny request { $id }.

## schedule
schedule-reminder = ⏰ Reminder { $who }: request { $id } has waited { $waited } for a decision.
schedule-escalation = 📣 { $who }: request { $id } has waited { $waited }; anyone with one of these roles may decide: { $roles }.

## outcome
outcome-assignment_not_shown = the assignment was made but the read-back does not show it yet
outcome-removal_not_shown = the removal was made but the read-back still shows the licence
outcome-seats_not_shown = the seat count does not show { $target } seats yet
outcome-roles_not_read = the roles of { $who } were not read
outcome-reduced = { $quantity } { $quantity ->
        [one] seat
       *[other] seats
    } removed; the tenant now has { $enabled }
outcome-reduce_below_use = the tenant would have { $target } seats but { $consumed } are in use now; nothing was removed
outcome-denied = denied by { $who }: { $reason }
outcome-no_reason = no reason given
outcome-cancelled = cancelled by { $who }
outcome-expired = expired after { $after } without a decision
outcome-dependency_ended = the purchase of request { $other } that it waited on did not go through
outcome-bought = { $quantity } { $quantity ->
        [one] seat
       *[other] seats
    } bought; the tenant now has { $enabled }
outcome-assigned = Power BI Pro assigned to { $upn }
outcome-assigned_with_location = Power BI Pro assigned to { $upn } (usage location set to { $country } first)
outcome-already_held = { $upn } already had Power BI Pro; nothing was changed
outcome-removed = Power BI Pro removed from { $upn }
outcome-not_held = { $upn } no longer had the licence; nothing was changed
outcome-role_lost = { $who } no longer holds one of the roles { $roles }, so the approved work was not carried out
outcome-no_usage_location = { $upn } has no usage location and no default is configured; an administrator must set one in Microsoft 365
outcome-no_free_seat = no seat was free when the licence was to be assigned; an approver can buy seats with `{ $prefix } buy`
outcome-invalid_usage_location = Microsoft 365 refused the user's usage location
outcome-user_gone = the directory user no longer exists
outcome-account_disabled = the account is disabled
outcome-conflict = the licence conflicts with one the user holds ({ $detail })
outcome-forbidden = the bot is not allowed to do this in Microsoft 365 (missing permission)
outcome-invalid = Microsoft 365 refused the change ({ $detail })
outcome-unverified = the change was made but did not show on { $attempts } read-backs ({ $detail }); check it in the Microsoft 365 admin center
outcome-gave_up = gave up after { $attempts } attempts; last error: { $error }
outcome-assigned_by_group = Power BI Pro assigned to { $upn } through the group { $group }
outcome-group_applying = Entra ID is applying the group's licence; looking again in { $after }
outcome-group_slow = { $leaving ->
        [yes] Entra ID did not take the group { $group }'s licence away from { $upn } within { $wait }; { $upn } is no longer a member, and an administrator can check the licence in the Microsoft 365 admin center
       *[other] Entra ID did not apply the group { $group }'s licence to { $upn } within { $wait }; { $upn } stays a member, and an administrator can see the group's licence errors in the Microsoft 365 admin center
    }
outcome-group_failed = the group { $group } could not give { $upn } Power BI Pro: { $cause }
outcome-membership_undone = { $upn } was taken out of the group again
outcome-membership_stays = taking { $upn } out of the group again failed ({ $error }); an administrator should remove the membership
outcome-removed_from_group = { $upn } was taken out of the group { $group }; Power BI Pro is removed
outcome-seat_needed = no seat was free when the group { $group } went to license { $upn }; one seat is to be bought first
outcome-until = it runs until { $until }
outcome-joined = { $first }; { $then }
outcome-extended = the licence of { $upn } is extended until { $until }
outcome-seat_left_free = the seat bought for it stays paid and free for the next request; an approver can remove it with `{ $prefix } seats remove 1` while Microsoft still allows it (about 7 days after the purchase)

## group_error
group_error-mutually_exclusive = one of its plans conflicts with a licence the person already has (MutuallyExclusiveViolation); remove that licence first
group_error-dependency = another product depends on one of its plans (DependencyViolation)
group_error-usage_location = Power BI Pro is not offered in the person's usage location { $country } (ProhibitedInUsageLocationViolation)
group_error-no_usage_location = Power BI Pro is not offered in the tenant's location, which applies to people without a usage location, and no default is configured (ProhibitedInUsageLocationViolation); an administrator must set their usage location
group_error-uniqueness = a value that must be unique, such as a mail address, is used twice (UniquenessViolation)
group_error-count = no seat was free (CountViolation)
group_error-other = Entra ID reported { $word }

## drift
drift-missing_licence = { $upn } no longer holds { $sku }, which request { $id } gave them
drift-unexplained_licence = { $upn } holds { $sku } assigned directly, and no request of mine explains it
drift-membership_licensed = { $upn } is a member of the licensing group and holds { $sku } from it, but no request of mine added them
drift-membership_unlicensed = { $upn } is a member of the licensing group without holding { $sku } from it, and no request of mine added them
drift-seats_over = { $consumed } seats of { $sku } are assigned but only { $enabled } are bought
drift-seats_changed = my last seat change (request { $id }) left { $target } seats of { $sku }; the tenant has { $enabled }
drift-stuck_request = request { $id } failed, but { $upn } holds { $sku }
drift-corrected_completed = the tenant shows the licence (found by a licence check)
drift-report_title = 🔎 Licence check: { $count } { $count ->
        [one] difference
       *[other] differences
    } between my records and Microsoft 365:
drift-report_agree = 🔎 Licence check: my records and Microsoft 365 agree.
drift-report_line = • { $detail }
drift-report_more = … and { $count } more; `licensebot reconcile` lists them all.
drift-report_corrected = Corrected in my records, where Microsoft 365 is the truth:
drift-report_checked = (checked { $at }; I never change Microsoft 365 myself)
drift-seats_line = Differences with Microsoft 365: { $count } (checked { $at }); see the licence check in the approvals channel.

## seat_alert
seat_alert-standing = ⚠️ Power BI Pro seats: { $free } free of { $enabled } bought ({ $percent } % in use).
seat_alert-free_seats = • Below the alert level of { $below } free { $below ->
        [one] seat
       *[other] seats
    }.
seat_alert-usage = • Above the alert level of { $above } % in use.
seat_alert-advice = Buy seats with `{ $prefix } buy <n>`. I edit this message as the numbers change.
seat_alert-recovered = ✅ Power BI Pro seats recovered: { $free } free of { $enabled } bought ({ $percent } % in use). The alert is cleared.

## term
term-too_long = A licence is given for at most { $max } days here; you asked for { $days }. Ask again with a shorter term, e.g. `for { $max }d`.
term-already_ended = That licence's term has ended already.
term-reminder = Your Power BI Pro licence for { $upn } ends on { $until }. To keep it, ask with `{ $prefix } extend` (an approver decides); otherwise it is released then, and the seat stays for the next person.
term-reason = the term of the licence of request { $id } ended

## reclaim
reclaim-header = ♻️ Or move a seat nobody uses: an approver with an assign role can react { $emoji } instead of buying, and the seat of the first holder below moves to the requester after { $grace }, unless they keep it with `{ $prefix } keep`:
reclaim-line_power_bi = {"  "}{ $rank }. { $upn }: Power BI last used { $power_bi }; last sign-in to Microsoft 365 { $sign_in }
reclaim-line = {"  "}{ $rank }. { $upn }: last sign-in to Microsoft 365 { $sign_in } (Power BI's own sign-ins unknown)
reclaim-none_since = not since { $since }
reclaim-days = { $days } { $days ->
        [one] day
       *[other] days
    }
reclaim-never = none on record
reclaim-unknown = {"  "}Last sign-in unknown: { $why }
reclaim-not_here = ♻️ moves a seat instead of buying one only on a pending purchase of one seat for one person's licence; request { $id } is not that.
reclaim-nobody = Request { $id }: there is nobody to move a seat from (no holder listed who has not kept their licence).
reclaim-chosen = ♻️ { $who } chose to move the seat of { $upn } instead of buying: it moves on { $until } unless they answer `{ $prefix } keep`.
reclaim-notice = An approver chose to move your Power BI Pro licence to someone who needs it, because you have not used Power BI for a while. It moves on { $until }. To keep it, answer `{ $prefix } keep` here or in any channel.
reclaim-told_requester = Request { $id }: instead of buying a seat, an approver chose to move one nobody uses; it is yours on { $until } unless its holder keeps it.
reclaim-kept = ♻️ { $upn } keeps their licence; this purchase waits for a billing approver again.
reclaim-kept_told = Request { $id }: { $upn } keeps their licence, so the seat is not moved; the purchase waits for a billing approver again.
reclaim-moving = ♻️ Moving the seat of { $upn }.
reclaim-taken = Your Power BI Pro licence ({ $upn }) was moved to { $to }, as you were told. If you need it again, ask with `!pro request`.
reclaim-moved = the seat of { $from } was moved: { $detail }
reclaim-cannot_take = { $upn }'s licence comes from a group the bot does not manage (or with another licence), so it cannot be moved
reclaim-still_held = { $upn } still holds the licence; looking again

## keep
keep-nothing = No approver has chosen to move your licence; there is nothing to keep.
keep-done = You keep your Power BI Pro licence; the approver and the person who asked are told.

## extend
extend-nothing = You have no time-bound licence to extend. To ask for a licence, use `!pro request`.

## tell
tell-group_needs_seat = Request { $id }: no seat was free when the group went to license { $upn }, so one seat must be bought first. That purchase now waits for a billing approver; you will hear when it is done.
tell-approved = Request { $id } ({ $subject }) was approved; I'm carrying it out.
tell-closed = Request { $id } ({ $subject }) is { $state }: { $outcome }.
tell-completed_assign = Request { $id } is done: { $detail }. You can sign in to Power BI with it now.
tell-completed_purchase = Request { $id } is done: { $detail }.
tell-completed_removal = Request { $id } is done: { $detail }.
tell-purchase_done_waiting = Request { $id }: { $detail }. The licence itself still needs approval.
tell-denial_reason = Request { $id }: the reason { $who } gave for the denial: { $reason }
tell-batch_summary = Your requests { $first } to { $last }: { $done } of { $total } done.
tell-batch_line = {"  "}{ $id } { $subject }: { $state }: { $outcome }
tell-approver_failed = Request { $id } that you approved failed: { $reason }.
tell-licence_taken = Your Power BI Pro licence ({ $upn }) was taken away by { $who } (request { $id }). Reason: { $reason }. If you still need it, ask again with `{ $prefix } request`.

## purchase
purchase-reduce_task = 🛒 { $who }: task for request { $id }: remove { $quantity } Power BI Pro { $quantity ->
        [one] seat
       *[other] seats
    }, so that the tenant has { $target } in all (it has { $enabled } now). { $how } Microsoft allows this only shortly after a purchase or renewal. When it is done, type `{ $prefix } purchased { $number }`; I also check the seat count myself.
purchase-task = 🛒 { $who }: purchase task for request { $id }: buy { $quantity } Power BI Pro { $quantity ->
        [one] seat
       *[other] seats
    }, { $cycle }, so that the tenant has { $target } in all (it has { $enabled } now). { $how } When it is done, type `{ $prefix } purchased { $number }`; I also check the seat count myself and go on as soon as the seats are there.
purchase-how_admin_center = In the Microsoft 365 admin center: Billing > Your products > Power BI Pro > Add/remove licenses, and set the total to { $target }.
purchase-how_reseller = This subscription is bought through a reseller (Enterprise Agreement or volume licensing): order the seats from them.
purchase-task_reminder = ⏰ { $who }: the purchase for request { $id } is still open: { $enabled } of { $target } seats so far. Type `{ $prefix } purchased { $number }` when it is done.
purchase-not_yet = I don't see the seats of request { $id } yet: { $enabled } of { $target }. Microsoft can take a few minutes to show them; I'll keep checking.
purchase-confirmed = Thanks: { $enabled } seats are there; carrying on with request { $id }.
purchase-none = Request { $id } has no purchase waiting for a person.

# Descriptions of the Discord slash command /pro and its options (at most 100 characters).
## discord
discord-seats_remove = Seats to remove (only shortly after a purchase or renewal)
# The Discord locales (their codes, separated by spaces) that show this language.
discord-locales = en-US en-GB
discord-pro = Power BI Pro licences: ask, follow up, approve
discord-request = Ask for a Power BI Pro licence
discord-request_term = For how long (e.g. 30d, 2w, 3m)
discord-extend = Keep your time-bound Power BI Pro licence longer
discord-keep = Keep your Power BI Pro licence that is about to move to someone else
discord-extend_term = For how much longer (e.g. 30d, 2w, 3m)
discord-request_reason = Why you need it
discord-request_for = Someone else to ask for (approvers only)
discord-status = Your recent requests, or the details of one
discord-status_id = A request number
discord-cancel = Withdraw a request that has not started
discord-cancel_id = The request number
discord-release = Give your Power BI Pro licence back
discord-link = Link your Discord account to your Microsoft 365 account
discord-link_upn = Your Microsoft 365 sign-in name, e.g. you@contoso.com
discord-help = What the bot can do
discord-help_command = One command to explain
discord-buy = Buy more Power BI Pro seats (approvers only)
discord-buy_seats = How many seats
discord-buy_cycle = Billing cycle
discord-assign = Give Power BI Pro to one or more people (approvers only)
discord-assign_users = UPNs or @mentions, separated by spaces
discord-revoke = Take a Power BI Pro licence away (approvers only)
discord-revoke_user = A UPN or an @mention
discord-seats = Seats bought, assigned, free and on order (approvers only)
discord-pending = Approvals waiting for you (approvers only)
discord-spend = What the bot bought per month, and the budget left
discord-spend_month = The month, like 2026-12 (default: the last twelve)
discord-away = Stop or resume routing approvals to you (approvers only)
discord-away_state = on: away, off: back
discord-audit = The full history of a request (approvers only)
discord-audit_id = The request number
discord-purchased = Say that you bought the seats of a purchase task (approvers only)
discord-purchased_id = The request number
discord-revoke_reason = Why (the person who loses it is told)
discord-unlink = Undo the link to a Microsoft 365 account (yours; approvers: someone's)
discord-unlink_user = Approvers: a UPN or an @mention whose link to undo
discord-link_user = Approvers: the person whose link you confirm
discord-verify = Send the code from the mail (only you and the bot see it)
discord-verify_code = The 8-digit code
discord-language = The language I answer you in
discord-language_code = The language

## verify
verify-done = Verified: your chat account acts for { $name } ({ $upn }) now. Approvers see how it was proven on your requests.
verify-expired = That code has expired (codes last 15 minutes). Get a new one with `{ $prefix } link { $upn }`.
verify-nothing_pending = You have no link waiting for a code. Start with `{ $prefix } link you@contoso.com`.
verify-public = Never type a code where others can read it: I've deleted the message where I could, and that code no longer works. Start again with `{ $prefix } link { $upn }` and send the new code to me in a direct message.
verify-wrong = That is not the code. { $left } tries left before the link locks.
verify-done_sign_in = Verified by sign-in: your chat account acts for { $upn } now. Approvers see how it was proven on your requests.

## mail
mail-subject = Your code to link a chat account to your Microsoft 365 account
mail-body =
    The chat account { $name } ({ $chat_user }) asked the licence bot to let it act for your Microsoft 365 account { $upn }.

    If that was you, send this code to the bot in a direct message, as `{ $prefix } verify CODE`, within { $minutes } minutes:

    { $code }

    If it was not you, ignore this mail: nothing happens without the code, and the bot never asks for it anywhere else.

## page
page-not_valid_title = This link can't be used
page-not_valid = This sign-in link is not valid: it was used already, it is too old (links last 10 minutes), or it was mistyped. Nothing was linked.
page-start_again = Start again in chat with `{ $prefix } link you@contoso.com`; I'll send you a new link.
page-not_finished_title = The sign-in did not finish
page-not_finished = The sign-in was cancelled or refused at Microsoft, so nothing was linked.
page-not_checked = I couldn't check the sign-in with Microsoft (the answer was refused or not valid), so nothing was linked.
page-wrong_account_title = That is another account
page-other_tenant = You signed in to another organisation than the one this bot serves. Nothing was linked. Sign in with { $upn }, your account in this organisation, after starting again in chat.
page-other_account = You signed in as another account than { $upn }. Nothing was linked. If { $upn } is yours, start again in chat and sign in as { $upn }.
page-confirm_title = Confirm the link
page-confirm = You signed in as { $upn }. Should the chat account { $name } act for this account (ask for its Power BI Pro licence, give it back)? Only confirm if { $name } is your own chat account. If you did not ask for this, close this page: nothing happens.
page-confirm_button = Yes, link my chat account
page-done_title = Linked
page-done = Your chat account now acts for { $upn }. You can close this page and go back to chat.
page-error_title = Something went wrong
page-unavailable = I couldn't reach Microsoft's sign-in just now, so nothing was linked. Please try again in a few minutes.

## group
group-named = { $name } (owners: { $owners })
group-named_no_owners = { $name } (it has no owners: ask an administrator)

## governance
governance-auto_approved = 🤖 Approved by the rule “{ $rule }” (a seat was free); no approver was asked. An approver may take the licence back with `{ $prefix } revoke`.
governance-by_rule = the rule “{ $rule }”
governance-two_person = 🔐 Two-person rule: this purchase needs approvals by two different people ({ $why }).
governance-above_seats = more than { $max } seats
governance-above_cost = { $cost } per month, above { $max }
governance-over_budget = 💰 Over this month's budget: { $spent } bought or on order this month, budget { $budget }; this purchase goes { $over } over. Only { $roles } may approve it.
governance-approvals_so_far = ✅ { $count } of { $needed } approvals: { $who }. Waiting for a second approver.
governance-approved_by_two = ✅ Approved by { $first } and { $second }.
governance-same_approver = { $who }, you approved request { $id } already; the two-person rule needs a second approver, so it still waits.
governance-refused_over_budget = Request { $id } would go over this month's budget by { $over } ({ $spent } bought or on order this month, budget { $budget }), so it needs { $roles }. Nothing was approved.

## spend
spend-header = Spend on Power BI Pro seats ({ $currency } per month of each purchase, by the month it was bought):
spend-line = {"  "}{ $month }: { $purchases } { $purchases ->
        [one] purchase
       *[other] purchases
    }, { $seats } { $seats ->
        [one] seat
       *[other] seats
    }, { $spent }
spend-none = Nothing bought in { $month }.
spend-nothing_yet = Nothing bought yet.
spend-budget = Budget for { $month }: { $budget }; used { $used } (including approved orders); left { $left }.
spend-no_budget = No monthly budget is set.

## discord_name
# The names of /pro, its subcommands and options as a person sees them in this language
# (the bot reads the English names back; Discord wants lowercase, no spaces, at most 32).
discord_name-assign = assign
discord_name-audit = audit
discord_name-away = away
discord_name-buy = buy
discord_name-cancel = cancel
discord_name-code = code
discord_name-command = command
discord_name-cycle = cycle
discord_name-extend = extend
discord_name-for = for
discord_name-help = help
discord_name-id = id
discord_name-keep = keep
discord_name-language = language
discord_name-link = link
discord_name-month = month
discord_name-pending = pending
discord_name-pro = pro
discord_name-purchased = purchased
discord_name-reason = reason
discord_name-release = release
discord_name-remove = remove
discord_name-request = request
discord_name-revoke = revoke
discord_name-seats = seats
discord_name-spend = spend
discord_name-state = state
discord_name-status = status
discord_name-term = term
discord_name-unlink = unlink
discord_name-upn = upn
discord_name-user = user
discord_name-users = users
discord_name-verify = verify

## help_example
# One example of each command, shown by `help <command>`.
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
help_example-request = `{ $prefix } request for 30d I build the monthly sales report`
help_example-revoke = `{ $prefix } revoke alice@contoso.com moved to another team`
help_example-seats = `{ $prefix } seats remove 2`
help_example-spend = `{ $prefix } spend 2026-11`
help_example-status = `{ $prefix } status 12`
help_example-unlink = `{ $prefix } unlink`
help_example-verify = `{ $prefix } verify 12345678`

## Dates, money and the seat chart. English keeps ISO 8601 dates, which US and UK readers
## read alike.
date-day = { $year }-{ $mm }-{ $dd }
date-minute = { $date } { $hh }:{ $min } UTC
date-short = { $month ->
    [1] Jan
    [2] Feb
    [3] Mar
    [4] Apr
    [5] May
    [6] Jun
    [7] Jul
    [8] Aug
    [9] Sep
    [10] Oct
    [11] Nov
   *[other] Dec
} { $day }
date-month = { $month ->
    [1] Jan
    [2] Feb
    [3] Mar
    [4] Apr
    [5] May
    [6] Jun
    [7] Jul
    [8] Aug
    [9] Sep
    [10] Oct
    [11] Nov
   *[other] Dec
} { $year }
money = { $whole }.{ $cents } { $currency }
chart-title = { $sku } seats, last { $days } { $days ->
    [one] day
   *[other] days
}
chart-bought = bought
chart-assigned = assigned
chart-pending = requests waiting for a decision
chart-spend = Spend per month ({ $currency })
chart-budget = monthly budget
chart-alt = Chart of { $sku } seats bought and assigned, and requests waiting, over the last { $days } { $days ->
    [one] day
   *[other] days
}.
