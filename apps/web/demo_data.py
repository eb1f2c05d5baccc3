"""The demo project's data: its people, epics, labels, the story catalogue, deliverables and the
phrases its history is written with. ``apps.web.demo`` plays the history; this module only describes
what there is to play.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from apps.projects.models import Role

PROJECT_KEY = "DATA"
PROJECT_NAME = "Customer Data Platform"
TIME_ZONE = "Europe/Amsterdam"
DEMO_PASSWORD = "demo"
SEED = 42
CLOSED_SPRINTS = 6
WORKDAY = (time(9), time(18))


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: str
    title: str
    # Working hours one story point takes this person; None for people who do not pick up stories.
    hours_per_point: float | None = None


PEOPLE = (
    Person("admin", "Alex", "Jansen", Role.ADMIN, "data engineering lead", hours_per_point=15.0),
    Person("owner", "Olivia", "Bakker", Role.PRODUCT_OWNER, "product owner"),
    Person("member", "Milan", "de Vries", Role.MEMBER, "analytics engineer", hours_per_point=8.5),
    Person("priya", "Priya", "Raman", Role.MEMBER, "data scientist", hours_per_point=8.5),
    Person("stakeholder", "Sofia", "Visser", Role.STAKEHOLDER, "head of sales operations"),
)
DEVELOPERS = tuple(p.username for p in PEOPLE if p.hours_per_point)

# --- What the team works on ------------------------------------------------------------

# code: (name, description, who consumes it, the sprint in which its stories start to arrive)
EPICS = {
    "C": (
        "CRM ingestion",
        "Salesforce, HubSpot, Zendesk and Stripe landed in the warehouse, modelled and tested.",
        "Sales ops, Finance",
        0,
    ),
    "P": (
        "Platform and orchestration",
        "Airflow, dbt, CI and warehouse housekeeping that keep the pipelines boring.",
        "The data team",
        0,
    ),
    "Q": (
        "Data quality",
        "Tests, freshness checks and alerting, so that people can trust the numbers.",
        "Everyone who reads a number",
        0,
    ),
    "R": (
        "Revenue dashboard",
        "One trusted revenue dashboard for finance and sales leadership.",
        "Finance, Leadership",
        0,
    ),
    "G": ("Privacy and governance", "PII handling, access control and GDPR requests.", "Legal, Security", 1),
    "M": ("Churn model", "Predict which accounts will churn in the next 90 days, and why.", "Customer success", 2),
    "A": ("Marketing attribution", "Which channels and campaigns bring customers, and at what cost.", "Marketing", 3),
    "U": ("Product analytics", "Product usage, activation and retention metrics.", "Product", 4),
}

LABELS = {
    "dbt": "#ff694b",
    "airflow": "#017cee",
    "looker": "#4285f4",
    "ml": "#8b5cf6",
    "pii": "#dc2626",
    "snowflake": "#29b5e8",
    "python": "#3776ab",
    "data-quality": "#16a34a",
    "stakeholder-request": "#f59e0b",
}

# epic | kind | points (- = not estimated yet) | labels | title | context
CATALOGUE = """
C | story | 5 | airflow snowflake | Ingest Salesforce accounts into the raw layer | Finance and sales both need account data in the warehouse; today someone exports a CSV by hand every Monday.
C | story | 3 | airflow snowflake | Ingest Salesforce opportunities incrementally | Opportunities change daily and a full reload takes 40 minutes, so load by `SystemModstamp`.
C | story | 3 | airflow pii | Ingest HubSpot contacts | Marketing's contact list feeds attribution and the churn features.
C | story | 5 | dbt | Model stg_salesforce__accounts and stg_salesforce__opportunities | Staging models rename, cast and deduplicate the raw tables so that marts never read raw data.
C | story | 5 | dbt | Build dim_customer from Salesforce and HubSpot | One row per customer, with both CRM ids and a survivorship rule when they disagree.
C | spike | 2 | airflow | Spike: Fivetran or our own Airflow operator for HubSpot? | Buy or build the HubSpot connector: compare cost, latency and how each handles schema changes.
C | story | 3 | airflow snowflake | Ingest Zendesk tickets for support metrics | Support volume per account is a strong churn signal, and customer success wants it next to revenue.
C | chore | 2 | airflow | Backfill three years of Salesforce opportunity history | The revenue dashboard needs bookings back to 2022; the incremental load only started this quarter.
C | story | 3 | airflow | Ingest Stripe invoices and payments | Invoiced and collected revenue come from Stripe, not from the CRM.
C | story | 5 | dbt | Build fct_invoices with currency conversion to EUR | Invoices are in five currencies; finance reports in EUR at the ECB rate of the invoice date.
C | story | 2 | dbt | Map Salesforce account owners to the HR employee list | Sales leadership wants revenue per account owner and per team.
C | chore | 1 | airflow | Rotate the Salesforce integration user's credentials | The password expires every 90 days and last time the load failed silently for two days.
C | story | 2 | airflow snowflake | Ingest the product catalogue from the ERP export | Revenue by product line needs the catalogue, which lives only in the ERP.
C | story | 3 | dbt | Snapshot Salesforce opportunity stages with dbt snapshots | Pipeline reports need the stage an opportunity was in on any past day.
C | story | 2 | dbt | Add the account hierarchy (parent and child accounts) to dim_customer | Enterprise customers have up to four subsidiaries that finance wants rolled up.
C | story | 3 | airflow | Ingest Salesforce tasks and calls for activity metrics | Sales ops wants to see activity per account next to pipeline.
C | chore | 1 | dbt | Deprecate the legacy crm_accounts view | Three Looker explores still read it; move them to dim_customer first.
C | bug | 2 | airflow pii | HubSpot load fails on contacts with emoji in the company name | COPY INTO rejects the file with "invalid UTF-8 sequence"; the whole batch is dropped.
C | bug | 1 | dbt | Duplicate accounts in dim_customer after a Salesforce merge | Merged accounts keep their old id in the raw table: 37 customers appear twice.
C | bug | 2 | airflow | Salesforce incremental load misses records updated during the run | The high-water mark is taken at the end of the run instead of the start.
C | bug | 1 | airflow | Zendesk load hits the API rate limit on Mondays | Monday's backlog of tickets makes the load exceed 700 requests a minute.
P | chore | 3 | airflow | Upgrade Airflow from 2.7 to 2.9 | 2.7 is out of support at the end of the quarter, and 2.9 brings dataset-aware scheduling.
P | chore | 2 | dbt | Run dbt build in CI on every pull request (slim CI) | Broken models reach production because nobody runs the whole project before merging.
P | story | 3 | snowflake | Separate warehouses for loading, transforming and BI | Looker queries queue behind the nightly transform and dashboards time out at 8:00.
P | chore | 2 | snowflake | Warehouse cost dashboard and auto-suspend settings | Last month's bill was 40% over budget and nobody could say why.
P | story | 2 | airflow | Alert on DAG failures in #data-alerts | Failures are only noticed when a stakeholder asks why a dashboard is empty.
P | chore | 1 | dbt | Upgrade dbt-core to 1.8 | Unit tests for models and the new `--empty` flag make CI faster.
P | spike | 3 | dbt | Spike: the dbt Semantic Layer for shared metric definitions | Revenue is defined three different ways in three dashboards.
P | chore | 2 | airflow | Move Airflow variables to the secrets backend | API keys sit in plain text in the Airflow metadata database.
P | story | 3 | snowflake pii | Role-based access: analysts read marts only | Analysts currently read raw tables, including unmasked personal data.
P | chore | 2 | dbt | Split the dbt project into staging, intermediate and marts folders | The flat models folder has 180 files and no conventions.
P | story | 2 | dbt | Pre-commit hooks: sqlfluff and dbt-checkpoint | Reviews spend their time on formatting instead of logic.
P | chore | 1 | snowflake | Drop unused tables from the old warehouse schema | 212 tables in `legacy` have not been queried for 6 months.
P | story | 3 | airflow | Development environment that runs the pipeline on a sample of data | Testing a change today means running against production data.
P | chore | 2 | dbt | Incremental models for the large event tables | The full refresh of `fct_events` takes 55 minutes every night.
P | story | 2 | snowflake | Query tags so warehouse cost can be split by team | Finance wants to charge warehouse cost back to the teams that cause it.
P | story | 2 | airflow | SLA miss notifications for the 07:00 finance load | Finance's daily close starts at 8:00 and needs to know early when data is late.
P | chore | 2 | snowflake | Key-pair authentication for service users | Security wants passwords gone from service accounts by the end of the quarter.
P | story | 3 | python | Publish the dbt docs site behind single sign-on | People ask in chat what a column means because the docs are not reachable.
P | bug | 2 | airflow | Scheduler restarts drop running tasks | After a node rotation, tasks stay "running" forever and block the next runs.
P | bug | 1 | airflow | Daily DAG runs twice after the daylight-saving change | The cron expression is in local time without a time zone.
P | bug | 1 | dbt | CI fails on forks because secrets are unavailable | Contributors from the analytics guild cannot get a green build.
Q | story | 3 | dbt data-quality | Add not_null and unique tests to all staging models | Most data incidents last quarter were duplicates or missing keys that a test would have caught.
Q | story | 3 | airflow data-quality | Freshness checks on raw sources with Slack alerts | A source that stops loading should page us before a stakeholder notices.
Q | story | 5 | data-quality python | Great Expectations suite for the Stripe invoices | Invoice amounts, currencies and statuses need checks beyond what dbt tests express.
Q | story | 2 | dbt data-quality | Row-count reconciliation between raw and staging | Rows silently disappear when a join in staging goes wrong.
Q | story | 3 | data-quality | Data-quality scorecard per source | Stakeholders want to see at a glance which sources can be trusted today.
Q | chore | 2 | dbt data-quality | Add source freshness to the dbt sources file | `dbt source freshness` gives us freshness per source for free.
Q | story | 2 | data-quality airflow | Quarantine table for rows that fail validation | Bad rows should be kept aside for inspection, not dropped or loaded.
Q | story | 2 | data-quality | Route data-quality alerts to the owning team's channel | All alerts go to one channel today and most are ignored.
Q | spike | 2 | data-quality | Spike: anomaly detection on daily revenue | Could we have caught the double-counted March revenue automatically?
Q | story | 3 | dbt data-quality | Contract tests for the upstream product events schema | The product team changes event payloads without telling us.
Q | story | 2 | data-quality | Weekly data-quality review: agenda and dashboard | Incidents are fixed but never reviewed, so they come back.
Q | story | 3 | dbt data-quality | Referential integrity tests between facts and dimensions | Orphan rows in the facts drop out of every dashboard join.
Q | story | 2 | looker data-quality | Show data freshness on every dashboard | Users cannot tell whether they are looking at today's or last week's numbers.
Q | bug | 2 | dbt data-quality | Orders with negative quantities break fct_orders | Returns are booked as negative orders and the model's test fails.
Q | bug | 1 | data-quality | Orders placed after 23:00 land on the next day | Order timestamps are converted to UTC twice.
Q | bug | 2 | airflow data-quality | Airflow sensor waits forever when the ERP export is empty | On public holidays the ERP writes no file and the whole DAG stalls.
Q | bug | 1 | dbt | Lower-case currency codes break the FX join | Stripe started sending `eur` instead of `EUR` last Tuesday.
Q | bug | 2 | dbt data-quality | Country missing for 4% of customers after the HubSpot migration | The new HubSpot property is `country_code`, not `country`.
Q | bug | 3 | snowflake data-quality | Late-arriving Stripe refunds are missing from yesterday's totals | Refunds can arrive up to 48 hours late and the daily model never looks back.
Q | bug | 1 | dbt | accepted_values test fails after Salesforce added the stage "Negotiation" | Sales ops added a new opportunity stage without telling us.
Q | bug | 2 | looker data-quality | Looker shows stale data after a failed dbt run | The PDTs rebuild on their own schedule, even when the upstream models failed.
Q | bug | 1 | dbt | Duplicate invoice lines after Stripe retried a webhook | Stripe retries deliver the same event twice and we insert both.
Q | bug | 2 | airflow | ERP export arrives with a new column order | The loader maps columns by position.
Q | bug | 1 | looker data-quality | Negative churn in the MRR bridge for paused subscriptions | Pausing a subscription is treated as churn and resuming as new business.
R | story | 5 | looker dbt | Revenue dashboard: monthly recurring revenue by segment | Finance builds this in a spreadsheet every month and it takes two days.
R | story | 3 | looker | Add a region filter to the revenue dashboard | Regional sales managers want to see only their region.
R | story | 3 | dbt | Build fct_mrr_movements: new, expansion, contraction and churn | The MRR bridge on the dashboard needs one row per account per month with its movement.
R | story | 2 | looker | Drill down from the MRR tile to the list of accounts | "Which accounts are behind this number?" is the first question in every review.
R | story | 3 | looker | Bookings against target chart for the sales kick-off | Leadership presents this at the kick-off in four weeks.
R | story | 2 | looker | Email the weekly revenue PDF to the leadership list | Leadership reads email on Monday morning, not dashboards.
R | chore | 1 | looker | Move revenue explores to the new Looker folder structure | The revenue explores are scattered over personal folders.
R | story | 5 | dbt | Reconcile warehouse revenue with the finance ledger | Warehouse revenue and the ledger differ by 1.8% and finance will not use the dashboard until they agree.
R | spike | 3 | looker | Spike: can Looker's period-over-period measures replace our custom SQL? | Our custom year-on-year SQL is slow and hard to maintain.
R | story | 3 | dbt looker | ARR waterfall for the board deck | The board deck needs an ARR waterfall every quarter.
R | story | 2 | looker | Currency switch (EUR or USD) on the revenue dashboard | The US sales team thinks in dollars.
R | story | 3 | looker | Customer revenue page for account managers | Account managers prepare renewals with revenue history from three tools.
R | story | 2 | dbt | Document the revenue metrics in dbt docs | MRR, ARR, NRR and GRR need one definition each, written down.
R | story | 3 | looker stakeholder-request | Quarterly revenue report for the investor update | The CFO needs the same numbers every quarter, without a fire drill.
R | story | 2 | looker | Forecast against actual revenue tile | Finance's forecast lives in a spreadsheet that we can load weekly.
R | story | 3 | looker stakeholder-request | Revenue by product line for the pricing review | The pricing review in six weeks needs revenue per product line and plan.
R | chore | 1 | looker | Add descriptions to every revenue dashboard tile | Users hover over tiles looking for a definition that is not there.
R | story | 3 | looker | Churned revenue by reason code | Customer success records a churn reason in Salesforce that nobody reports on.
R | bug | 2 | looker dbt | Revenue dashboard shows doubled EUR totals for March | EUR invoices are converted twice when the invoice and payment months differ.
R | bug | 1 | looker | Net revenue retention tile divides by zero for new segments | A segment with no revenue a year ago shows an error instead of "n/a".
R | bug | 2 | dbt | Refunds counted as new revenue in fct_mrr_movements | A refund followed by a new invoice looks like churn and new business.
R | bug | 1 | looker | Revenue dashboard times out for the "All time" range | The explore scans the full invoice lines table without an aggregate.
R | bug | 2 | dbt | Annual contracts spread over 13 months in MRR | The month count is inclusive at both ends.
G | story | 3 | pii dbt | Column-level masking for PII in the warehouse | Email, phone and address must be masked for everyone but the privacy role.
G | story | 2 | pii | GDPR deletion requests: delete a customer across all layers | Legal receives about five erasure requests a month and handles them by hand.
G | story | 2 | pii | PII inventory: tag personal-data columns in dbt meta | We cannot protect what we have not listed.
G | chore | 1 | pii | Review who has access to raw HubSpot data | Twelve people have access; four have left the company.
G | story | 3 | pii airflow | Purge raw web events after 13 months | Our retention policy says 13 months and we keep everything.
G | spike | 2 | pii | Spike: pseudonymise user ids in the product events | Could analysts work with stable pseudonyms instead of user ids?
G | story | 2 | pii looker | Audit log of who viewed customer-level dashboards | Security asked for this after the access review.
G | chore | 1 | pii | Data processing agreement review for the new ads connectors | Legal needs to sign off before ad-platform data is loaded.
G | bug | 2 | pii | Phone numbers visible in the support ticket explore | The Zendesk explore exposes the requester's phone number to all users.
G | bug | 1 | pii dbt | Masking policy not applied to the new contacts snapshot | The snapshot table was created after the policy was attached.
M | spike | 3 | ml python | Spike: define churn for monthly and annual contracts | Is an annual customer who downgrades churned? Agree a definition with customer success.
M | story | 5 | ml dbt | Churn features: usage, support tickets and billing events | One feature table per account per week, built in dbt and versioned.
M | story | 5 | ml python | Train a baseline gradient-boosted churn model | A baseline tells us whether the data can predict churn at all.
M | story | 3 | ml python | Holdout evaluation and calibration plot for the churn model | Customer success will act on the scores only if a 0.7 means roughly 70%.
M | story | 3 | ml airflow | Weekly batch scoring of churn risk into the warehouse | Scores are needed every Monday before the customer success stand-up.
M | story | 2 | looker ml | Churn risk list in Looker for customer success | A ranked list of at-risk accounts with their owner and renewal date.
M | story | 3 | ml | Explain churn scores with the top reasons per account | "Why is this account at risk?" needs an answer customer success can act on.
M | chore | 2 | ml python | Track churn model experiments in MLflow | Experiments live in notebooks and nobody can reproduce last month's AUC.
M | story | 5 | ml | Retrain the churn model with product usage events | Usage is probably the strongest signal and it became available last sprint.
M | spike | 2 | ml | Spike: survival model or classifier for time-to-churn? | Customer success asked "when", not only "whether".
M | story | 2 | ml dbt | Monitor churn model drift on the top features | The model was trained on last year's customers; the mix is changing.
M | story | 3 | ml looker | Churn model performance dashboard: precision in the top 10% | Customer success calls the top 10% every week; that is the precision that matters.
M | story | 2 | ml pii | Remove personal data from the churn training set | The training set contains names and emails it does not need.
M | story | 3 | ml | Export the churn playbook list to the customer success tool | Customer success works in their own tool, not in Looker.
M | chore | 1 | ml python | Pin the training environment with a lock file | The model trained on a laptop and in Airflow gives different scores.
M | bug | 2 | ml python | Churn features leak future support tickets into training | Tickets are joined on account without a date bound, so the model sees the future.
M | bug | 1 | ml airflow | Scoring DAG writes scores for deleted accounts | Deleted accounts show up in the at-risk list.
M | bug | 2 | ml | Churn scores all 0.5 after the feature table was rebuilt | The rebuilt table has the columns in a different order.
A | story | 3 | airflow | Ingest Google Ads spend daily | Marketing's spend is the denominator of every ROI number.
A | story | 3 | airflow | Ingest LinkedIn Ads campaigns and spend | B2B campaigns run on LinkedIn and are a third of the budget.
A | story | 5 | dbt | Sessionise web events for attribution | Attribution works on sessions; the raw events are page views.
A | story | 5 | dbt | First-touch and last-touch attribution models | Two simple models first, so marketing can compare them with their own numbers.
A | story | 8 | dbt python | Position-based multi-touch attribution model | Marketing wants credit spread over the journey: 40% first, 40% last, 20% between.
A | story | 3 | looker | Marketing ROI dashboard by channel | Spend, pipeline and revenue per channel in one place.
A | spike | 2 | dbt | Spike: how many sessions lack UTM parameters? | If half the sessions have no UTMs, attribution is guesswork.
A | story | 2 | looker | Customer acquisition cost by channel and cohort | The CFO asks for CAC payback every board meeting.
A | chore | 1 | airflow | Renew the Google Ads developer token | The token expires at the end of the month.
A | story | 3 | dbt pii | Consent-aware web events: drop sessions without analytics consent | Legal requires that sessions without consent are not used for attribution.
A | story | 3 | looker stakeholder-request | Campaign report for the spring launch | Marketing needs daily numbers during the launch weeks.
A | story | 2 | airflow | Ingest Meta Ads spend | Consumer campaigns moved to Meta this quarter.
A | story | 3 | looker | Attribution comparison: first, last and position-based side by side | Marketing wants to see how much the choice of model matters.
A | bug | 2 | dbt | Paid search sessions attributed to "direct" | The gclid parameter is dropped by the redirect on the pricing page.
A | bug | 1 | looker | Spend in the ROI dashboard is in cents, not euros | The Google Ads API reports micros and we divided by 100.
A | bug | 2 | dbt | Attribution double-counts conversions across devices | A user who converts on mobile after a desktop visit is counted twice.
U | story | 3 | dbt | Daily and monthly active users model | Product and leadership count active users differently.
U | story | 3 | looker | Feature adoption dashboard for the product team | Which features do paying accounts use, and how often?
U | story | 5 | dbt | Retention cohorts by signup month | The product team wants to see whether onboarding changes improve retention.
U | story | 2 | looker stakeholder-request | Funnel from signup to activation to paid | Growth wants to know where trials drop out.
U | spike | 2 | dbt | Spike: define an "activated" account with the product team | Everyone agrees activation matters; nobody agrees what it is.
U | story | 3 | airflow | Ingest product events from the Segment export | The events land in S3 every hour and nobody loads them.
U | chore | 1 | dbt | Rename event columns to snake_case | Half the event columns are camelCase and every query quotes them.
U | story | 2 | looker | Self-serve explore for product managers | Product managers ask the data team for numbers they could look up themselves.
U | story | 3 | dbt looker | Trial conversion report for growth | Growth runs experiments on the trial and needs conversion by variant.
U | story | 2 | dbt | Session length and depth metrics | Product wants engagement beyond "was active today".
U | story | 3 | looker stakeholder-request | Usage report per enterprise account for quarterly reviews | Account managers bring usage numbers to every quarterly business review.
U | bug | 2 | dbt | Bot traffic inflates active users | A monitoring service logs in every five minutes with a test account.
U | bug | 1 | looker | Feature adoption chart ignores the date filter | The chart's explore joins on the wrong date field.
U | bug | 2 | airflow | Segment export missing one hour on the DST change | The hourly partition for 02:00 does not exist on the last Sunday of March.
"""

# Stories whose path is written for the story the demo tells; every other story's path is drawn at random.
FATES = {
    "Revenue dashboard shows doubled EUR totals for March": "reopen",
    "Build fct_mrr_movements: new, expansion, contraction and churn": "reopen",
    "Spike: Fivetran or our own Airflow operator for HubSpot?": "cancel",
    "Ingest Salesforce accounts into the raw layer": "block",
    "Reconcile warehouse revenue with the finance ledger": "block",
}

# The team's data products: code -> (name, kind, owner, consumers, consumer groups, data sources, link, weeks to target,
# the titles of the stories that build it).
DELIVERABLES = {
    "crm": (
        "CRM customers dataset",
        "dataset",
        "member",
        ("stakeholder",),
        ("Sales ops", "Finance"),
        ("Salesforce", "HubSpot"),
        "https://dbt-docs.example.com/#!/model/model.cdp.dim_customer",
        4,
        (
            "Ingest Salesforce accounts into the raw layer",
            "Model stg_salesforce__accounts and stg_salesforce__opportunities",
            "Build dim_customer from Salesforce and HubSpot",
        ),
    ),
    "pipeline": (
        "Salesforce ingestion pipeline",
        "pipeline",
        "admin",
        (),
        ("The data team",),
        ("Salesforce REST API",),
        "https://airflow.example.com/dags/salesforce_daily",
        5,
        ("Ingest Salesforce opportunities incrementally", "Alert on DAG failures in #data-alerts"),
    ),
    "revenue": (
        "Revenue dashboard",
        "dashboard",
        "member",
        ("stakeholder", "owner"),
        ("Finance", "Leadership"),
        ("Stripe invoices", "Salesforce opportunities", "Finance ledger"),
        "https://looker.example.com/dashboards/42",
        8,
        (
            "Revenue dashboard: monthly recurring revenue by segment",
            "Build fct_mrr_movements: new, expansion, contraction and churn",
            "Reconcile warehouse revenue with the finance ledger",
            "Add a region filter to the revenue dashboard",
        ),
    ),
    "churn": (
        "Churn risk model",
        "ml_model",
        "priya",
        ("stakeholder",),
        ("Customer success",),
        ("dim_customer", "Zendesk tickets", "Stripe invoices", "Product events"),
        "",
        12,
        (
            "Churn features: usage, support tickets and billing events",
            "Churn features leak future support tickets into training",
            "Churn scores all 0.5 after the feature table was rebuilt",
            "Scoring DAG writes scores for deleted accounts",
            "Holdout evaluation and calibration plot for the churn model",
            "Weekly batch scoring of churn risk into the warehouse",
            "Churn risk list in Looker for customer success",
        ),
    ),
}
EVIDENCE = "https://ci.example.com/runs/{}"


# The pipelines' latest runs, reported as the simulation ends (hours before now): a dbt build of the CRM
# dataset that passed, so it shows fresh against its daily expectation, and a Great Expectations
# checkpoint that failed on a deliverable of the active sprint, so its cards say "Run failed".
@dataclass(frozen=True)
class DemoRun:
    """A pipeline run the demo reports: its job, how long before now it finished, its tests and its link."""

    job: str
    hours_ago: int
    passed: int
    url: str
    failures: tuple[str, ...] = ()


PASSING_RUN_OF = "crm"
PASSING_RUN = DemoRun("dbt build --select dim_customer+", 3, 42, "https://ci.example.com/runs/dbt-8812")
FAILING_RUN = DemoRun(
    "checkpoint_revenue_daily",
    1,
    17,
    "https://ci.example.com/runs/ge-4411",
    ("expect_column_values_to_not_be_null(amount)", "expect_column_sum_to_be_between(mrr)"),
)
EXPECTED_INTERVAL_HOURS = 24

SPRINT_GOALS = (
    "Salesforce accounts and opportunities in the warehouse, modelled and tested.",
    "A first revenue dashboard that finance can look at.",
    "Revenue that matches the ledger, and alerts when a source goes stale.",
    "Privacy basics in place; churn features and a definition of churn.",
    "A baseline churn model and the revenue dashboard's drill-downs.",
    "Churn scores in Looker for customer success; marketing spend in the warehouse.",
    "Attribution v1 and product usage metrics.",
    "Multi-touch attribution and retraining the churn model with usage.",
)

BLOCK_REASONS = (
    "Waiting for warehouse access",
    "Upstream schema change in the ERP export",
    "Salesforce API quota exhausted until tomorrow",
    "Waiting for finance to confirm the revenue definition",
    "Airflow workers out of memory; the platform team is on it",
    "Legal review of the personal data use is pending",
    "Waiting for a Looker developer licence",
    "HubSpot sandbox not provisioned yet",
    "Upstream schema change: product events v2",
)
WAITING_NOTES = (
    "Pull request is up, waiting for review.",
    "Backfill is running, about six hours to go.",
    "Asked finance to check the numbers for two sample months.",
    "Waiting for the data owner to explain the nulls in the source.",
    "Waiting for the platform team to merge the Terraform change.",
)
VALIDATION_FAILURES = (
    "Numbers don't match finance's spreadsheet for February; back to In progress.",
    "Totals are right but the segment split is off; looks like the join on region.",
    "Two accounts missing from the list. Moving back.",
)
VALIDATION_NOTES = (
    "Checked against the ledger for January to March: matches within 0.1%.",
    "Spot-checked ten accounts with sales ops: all correct.",
    "Looks good, and the definitions in the tooltip help a lot.",
)
REOPEN_NOTES = (
    "Reopening: the numbers for the last week of the month still differ from finance's.",
    "Reopening: it does not hold for accounts with subsidiaries.",
    "Reopening: last night's run failed on the same input again.",
)
REESTIMATE_NOTES = (
    "Bigger than we thought: the source has three date formats. Re-estimated.",
    "Re-estimated: the backfill needs to be done in monthly chunks.",
    "Turns out we also need a snapshot table. Re-estimated.",
)
STAKEHOLDER_ASKS = (
    "Could we have this before the quarterly business reviews? Thanks!",
    "This came up again in the leadership meeting today.",
    "Happy to walk you through how we use this today.",
)
FIBONACCI = (1, 2, 3, 5, 8, 13)


@dataclass(frozen=True)
class Entry:
    epic: str
    kind: str
    points: int | None
    labels: tuple[str, ...]
    title: str
    context: str

    @property
    def wave(self) -> int:
        return EPICS[self.epic][3]


def _catalogue() -> tuple[Entry, ...]:
    entries = []
    for line in CATALOGUE.strip().splitlines():
        epic, kind, points, labels, title, context = (cell.strip() for cell in line.split("|"))
        entries.append(Entry(epic, kind, None if points == "-" else int(points), tuple(labels.split()), title, context))
    return tuple(entries)


def description(entry: Entry) -> str:
    name, _, consumers, _ = EPICS[entry.epic]
    parts = [entry.context, "", f"**Epic:** {name} · **For:** {consumers}"]
    if entry.kind == "bug":
        parts += ["", "### Seen in", "Production, reported in `#data-help`. Severity: affects a published number."]
    elif entry.kind == "spike":
        parts += ["", "### The question", "Answer it within the time-box; do not build the solution yet."]
    return "\n".join(parts)


CRITERIA_BY_LABEL = {
    "dbt": "New models have `unique` and `not_null` tests on their keys and are documented in `schema.yml`",
    "airflow": "The DAG runs daily before 06:00, retries twice and alerts `#data-alerts` on failure",
    "looker": "Published in the shared folder, with every tile described, and checked against the source for one month",
    "ml": "Metrics logged to MLflow and evaluated on a time-based holdout",
    "pii": "No personal data is visible to the `analyst` role",
    "snowflake": "Runs on the right warehouse size; cost checked after one week",
    "python": "Code covered by unit tests that run in CI",
    "data-quality": "The check runs on every load and fails loudly",
    "stakeholder-request": "The requester has seen it and agrees it answers their question",
}
CRITERIA_BY_KIND = {
    "story": ("Reviewed by a second team member",),
    "bug": (
        "Root cause written up in this story",
        "A test reproduces the bug and now passes",
        "Affected numbers backfilled",
    ),
    "chore": ("Done in development and production", "Runbook updated"),
    "spike": ("Findings and a recommendation written up in the wiki", "Follow-up stories created in the backlog"),
}


def acceptance_criteria(entry: Entry) -> str:
    criteria = [CRITERIA_BY_LABEL[label] for label in entry.labels if label in CRITERIA_BY_LABEL]
    return "\n".join(f"- [ ] {item}" for item in [*criteria, *CRITERIA_BY_KIND[entry.kind]])


CATALOGUE_ENTRIES = _catalogue()
EPIC_OF = {"crm": "C", "pipeline": "P", "revenue": "R", "churn": "M"}
