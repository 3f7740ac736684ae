# The web console's English text.
app-name = Approval Supervision
nav-label = Main navigation
nav-board = Board
nav-inbox = Inbox
nav-department = My department
nav-public = Look up a case
sign-in = Sign in
sign-out = Sign out
role-admin = admin
role-supervisor = supervision office
role-department = department
role-analyst = analyst
role-service_centre = service centre
account-name = Account
password = Password
signin-failed = Wrong account or password.
signin-too-many = Too many failed attempts; try again later.
csrf-refused = This form has expired; go back and try again.
not-for-role = This page is not for your role.
not-found = Not found.
refused-title = Action refused
refused-by-platform = The platform refused this action:
back-home = Back to the start
home-title = Welcome
home-analyst = Rankings and charts come in a later version.
board-title = Supervision board
region = Region
board-open = { $count } open warnings
board-departments = Departments by light
light = Light
department = Department
by-rule = By rule
light-red = red
light-yellow = yellow
light-green = green
board-by-rule = By rule
board-live = Live warnings
live-connecting = connecting…
live-on = live
live-lost = connection lost, reconnecting…
board-latest = Latest warnings
raised-at = raised
none = none
inbox-title = Inbox
cards-open = { $count } to work
office = Office
due-at = Due
correction-due = Correction due
reason-acknowledge = Remark
reason-answer = Answer (explanation or correction)
reason-close = Reason for closing
reason-escalate = Reason for escalating
attachments = Attachments (one per line)
action-acknowledge = Acknowledge
action-answer = Answer
action-close = Close
action-escalate = Escalate
department-title = My department
department-cards = Cards received
department-cases = Open cases by time left
case-no = Case number
matter = Matter
case-state = State
deadline = Deadline
time-left = Time left
overdue-by = overdue by { $hours } h
hours-left = { $hours } h left
public-title = Look up an application
query-code = Query code
look-up = Look up
public-not-found = No such case: check the case number and the query code.
public-progress = Progress of case { $case }
public-stages = Stages
public-note = This page shows no personal data.
level-unspecified = unknown
level-reminder = reminder
level-yellow_card = yellow card
level-red_card = red card
rule-unspecified = unknown rule
rule-approaching_deadline = deadline approaching
rule-promised_limit_passed = promised limit passed
rule-statutory_limit_passed = statutory limit passed
rule-acceptance_overdue = acceptance overdue
rule-step_overdue = step overdue
rule-repeated_correction = repeated correction
rule-missing_reasons = missing reasons
rule-suspension_abuse = suspension abuse
rule-extension_abuse = extension abuse
rule-irregular_fee = irregular fee
rule-procedure_anomaly = procedure anomaly
rule-certificate_overdue = certificate overdue
rule-integrity = integrity
state-unspecified = unknown
state-raised = raised
state-acknowledged = acknowledged
state-answered = answered
state-closed = closed
state-escalated = escalated
state-withdrawn = withdrawn
case-unspecified = unknown
case-received = received
case-awaiting_correction = awaiting correction
case-accepted = accepted
case-suspended = suspended
case-decided = decided
case-completed = completed
case-refused = refused
case-withdrawn = withdrawn
clock-unspecified = unknown limit
clock-acceptance = acceptance limit
clock-promised = promised due
clock-statutory = statutory due
clock-immediate = same-day limit
clock-certificate = certificate limit
clock-step = step limit
suspension-unspecified = unspecified
suspension-hearing = hearing
suspension-tendering = tendering
suspension-auction = auction
suspension-testing = testing
suspension-quarantine = quarantine
suspension-appraisal = appraisal
suspension-expert_review = expert review
suspension-other = other
stage-application = received
stage-acceptance = accepted
stage-correction_notice = correction requested
stage-correction_received = corrections received
stage-refusal = refused
stage-suspension_started = special procedure started
stage-suspension_ended = special procedure ended
stage-extension = extended
stage-decision = decided
stage-completion = completed
stage-certificate_issued = certificate issued
stage-withdrawal = withdrawn
# The case page: the case, its records, its clocks with their explanation, the working-day calendar.
case-title = Case { $case }
case-header = The case
case-overdue = overdue
received-at = Received
closed-at = Closed
catalogue-version = Catalogue version
calendar = Working-day calendar
case-clocks = Time limits
clock-started = Started
clock-stopped = Stopped
clock-days = Days
clock-explanation = How the due date was counted
provisional = provisional
case-timeline = Records
timeline-at = Time
timeline-what = Record
timeline-source = Source system
stage-step_started = Step started
stage-step_completed = Step completed
stage-fee = Fee charged
stage-rating = Rated
clock-status-unspecified = unknown
clock-status-running = running
clock-status-paused = paused (special procedure)
clock-status-stopped_on_time = done on time
clock-status-stopped_late = done late
clock-status-overdue = overdue
days-n = { $unit ->
    [calendar] { $n ->
        [one] 1 calendar day
       *[other] { $n } calendar days
    }
   *[working] { $n ->
        [one] 1 working day
       *[other] { $n } working days
    }
}
explain-start-unspecified = Counted from { $day }; that day is not counted.
explain-start-received = Received on { $day }; that day is not counted, the count starts the next day (Civil Code Art. 201).
explain-start-accepted = Accepted on { $day }; that day is not counted, the count starts the next day (Civil Code Art. 201).
explain-start-deemed_accepted = Received on { $day } with no acceptance decision within 5 working days, so the case counts as accepted that day (ALL Art. 32); that day is not counted.
explain-start-approved = Approved on { $day }; that day is not counted, the count starts the next day (ALL Art. 44).
explain-start-step_started = Step "{ $step }" started on { $day }; that day is not counted.
explain-limit-working = The limit is { $days }: only working days count, public holidays do not (ALL Art. 82).
explain-limit-calendar = The limit is { $days }.
explain-limit-same_day = Immediate: to be done within the working day it starts.
explain-days-off = { $count ->
    [one] 1 public holiday skipped
   *[other] { $count } public holidays skipped
}: { $days }.
explain-adjusted = Adjusted working days counted as working days: { $days }.
explain-run = { $name } { $from } to { $to }
explain-run-one = { $name } { $day }
list-sep = {", "}
explain-extension = Extended by { $days } with approval (ALL Art. 42).
explain-suspended = { $days } in special procedures (hearing, testing, expert review...) not counted (ALL Art. 45); the due date moves by as many.
explain-late-extension = The extension of { $at } came after the limit passed on { $last } 24:00: not applied.
explain-late-suspension = The special procedure of { $at } began after the limit passed on { $last } 24:00: not counted.
explain-moved = The last day { $from } is a rest day: the limit ends on the first working day after it, { $to } (Civil Code Art. 203).
explain-provisional = The due date lies beyond the published holidays (to { $to }): provisional, it may move when next year's holidays are published.
explain-due = Due { $due }.
progress = { $used } used, { $left } left
progress-over = { $used } used, { $over } past the due date
progress-done = done in { $used }, { $left } to spare
festival-new_year_s_day = New Year's Day
festival-spring_festival = Spring Festival
festival-tomb_sweeping_day = Tomb-sweeping Day
festival-labour_day = Labour Day
festival-dragon_boat_festival = Dragon Boat Festival
festival-mid_autumn_festival = Mid-autumn Festival
festival-national_day = National Day
festival-anti_fascist_70th_day = Anti-Fascist War Victory 70th Anniversary
cal-month = { $month ->
    [1] January
    [2] February
    [3] March
    [4] April
    [5] May
    [6] June
    [7] July
    [8] August
    [9] September
    [10] October
    [11] November
   *[12] December
} { $year }
cal-legend = Legend
cal-legend-mark = { $mark }: { $label }
cal-mark-holiday = Off
cal-mark-adjusted = Work
cal-holiday = public holiday
cal-adjusted = adjusted working day
cal-weekend = weekend
cal-working = working day
cal-suspended = special procedure (not counted)
cal-start = start day
cal-due = last day
cal-day-mon = Mo
cal-day-tue = Tu
cal-day-wed = We
cal-day-thu = Th
cal-day-fri = Fr
cal-day-sat = Sa
cal-day-sun = Su
cal-day-mon-long = Monday
cal-day-tue-long = Tuesday
cal-day-wed-long = Wednesday
cal-day-thu-long = Thursday
cal-day-fri-long = Friday
cal-day-sat-long = Saturday
cal-day-sun-long = Sunday
