"""The demo project: a data team's last fourteen weeks, written as true, backdated history.

``seed_demo()`` creates the demo users, the ``DATA`` project with its epics,
labels and about 150 stories, then plays fourteen weeks of work through the
services: a setup week, six closed two-week sprints, an active sprint that
contains today and a planned next one. It is a small discrete-event simulation:
every action is scheduled at a moment in working hours (Mon–Fri, 9:00–18:00 in
the project's time zone) and the actions run in time order, so the event log's
``seq`` order is its ``at`` order, and nothing is written after ``now``.

The team pulls work from the active sprint; stories wait for review, get
blocked ("waiting for warehouse access"), fail validation, are re-estimated,
reopened, cancelled, added mid-sprint, descoped and carried over, as real ones
are. A seeded ``random.Random`` makes it deterministic: the closed sprints come
out the same whatever the day, only the cut at ``now`` moves.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import Conflict
from apps.deliverables import selectors as deliverable_selectors
from apps.deliverables import services as deliverable_services
from apps.deliverables.models import Deliverable, DeliverableStatus
from apps.projects import services as project_services
from apps.projects.models import CLOSED_CATEGORIES, Category, Project, Role, WorkflowState
from apps.stories import selectors, services
from apps.stories.models import Sprint, Story

__all__ = ["DEMO_PASSWORD", "PEOPLE", "PROJECT_KEY", "Person", "seed_demo"]

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


def _description(entry: Entry) -> str:
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


def _acceptance_criteria(entry: Entry) -> str:
    criteria = [CRITERIA_BY_LABEL[label] for label in entry.labels if label in CRITERIA_BY_LABEL]
    return "\n".join(f"- [ ] {item}" for item in [*criteria, *CRITERIA_BY_KIND[entry.kind]])


# --- Entry point -----------------------------------------------------------------------


@transaction.atomic
def seed_demo(*, now: datetime | None = None) -> Project | None:
    """Create the demo project with its history; None, writing nothing, when it already exists."""
    if Project.objects.filter(key=PROJECT_KEY).exists():
        return None
    now = now or timezone.now()
    users = _users()
    try:
        project = project_services.project_create(
            creator=users["admin"], key=PROJECT_KEY, name=PROJECT_NAME, timezone=TIME_ZONE
        )
    except Conflict:  # another seed got there first
        return None
    for person in PEOPLE:
        if person.role != Role.ADMIN:
            project_services.membership_add(project=project, user=users[person.username], role=person.role)
    _Demo(project=project, users=users, now=now, rng=random.Random(SEED)).run()
    project.refresh_from_db()
    return project


def _users() -> dict[str, AbstractBaseUser]:
    """The demo's people; an account that already exists keeps its password."""
    User = get_user_model()
    # Hashed once: the hasher is slow on purpose, and five hashes of one public password protect nothing more.
    password = make_password(DEMO_PASSWORD)
    users = {}
    for person in PEOPLE:
        user = User.objects.filter(username=person.username).first()
        if user is None:
            admin = person.role == Role.ADMIN
            user = User.objects.create(
                username=person.username,
                email=f"{person.username}@example.com",
                password=password,
                first_name=person.first_name,
                last_name=person.last_name,
                is_staff=admin,
                is_superuser=admin,
            )
        users[person.username] = user
    return users


# --- The simulation --------------------------------------------------------------------

# A process yields how long it waits: working hours (a number) or until a moment (a datetime).
Process = Generator[float | datetime, None, None]


class _Demo:
    def __init__(
        self, *, project: Project, users: dict[str, AbstractBaseUser], now: datetime, rng: random.Random
    ) -> None:
        self.project = project
        self.users = users
        self.now = now
        self.rng = rng
        self.zone = ZoneInfo(TIME_ZONE)
        self.states = {state.name: state for state in WorkflowState.objects.filter(project=project)}
        self.epics = {
            code: services.epic_save(project=project, name=name, description=f"{about}\n\n**For:** {consumers}")
            for code, (name, about, consumers, _) in EPICS.items()
        }
        self.labels = {
            name: services.label_save(project=project, name=name, color=color) for name, color in LABELS.items()
        }
        self.speed = {p.username: p.hours_per_point for p in PEOPLE if p.hours_per_point}
        self.busy: dict[str, set[int]] = {dev: set() for dev in DEVELOPERS}
        self.stories: dict[int, Story] = {}
        self.entries: dict[int, Entry] = {}
        self.active: Sprint | None = None
        self.added_mid_sprint = 0
        self.queue: list[tuple[datetime, int, Process]] = []
        self.deliverables: dict[str, Deliverable] = {}
        # Its own random stream, so that the deliverables leave the stories' history exactly as it was.
        self.deliverable_rng = random.Random(SEED + 1)
        self.deliverable_for = {title: code for code, spec in DELIVERABLES.items() for title in spec[-1]}
        self.order = itertools.count()
        today = now.astimezone(self.zone).date()
        # The active sprint started on the Monday of last week, so today is in its second week.
        active_start = today - timedelta(days=today.weekday() + 7)
        self.first_start = active_start - timedelta(weeks=2 * CLOSED_SPRINTS)
        self.clock = self._moment(self.first_start - timedelta(days=7), 0)

    # The event loop -------------------------------------------------------------

    def run(self) -> None:
        self.spawn(self._calendar(), self._moment(self.first_start - timedelta(days=7), 9))
        self.spawn(self._intake(), self._moment(self.first_start, 9))
        self.spawn(self._incidents(), self._moment(self.first_start, 9))
        self._create_deliverables(self._moment(self.first_start - timedelta(days=7), 9))
        self.spawn(self._deliverable_work(), self._moment(self.first_start, 14))
        while self.queue:
            at, _, process = heapq.heappop(self.queue)
            if at > self.now:
                break
            self.clock = at
            try:
                wait = next(process)
            except StopIteration:
                continue
            self.spawn(process, wait if isinstance(wait, datetime) else self._after(at, wait))

    def spawn(self, process: Process, at: datetime) -> None:
        heapq.heappush(self.queue, (max(at, self.clock), next(self.order), process))

    def _moment(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(UTC)

    def _after(self, start: datetime, hours: float) -> datetime:
        """``hours`` of working time after ``start``: Mon–Fri, 9:00–18:00 in the project's zone."""
        local = self._next_working(start.astimezone(self.zone))
        remaining = timedelta(minutes=round(hours * 60))
        while True:
            closing = local.replace(hour=WORKDAY[1].hour, minute=0, second=0, microsecond=0)
            if local + remaining <= closing:
                return (local + remaining).astimezone(UTC)
            remaining -= closing - local
            local = self._next_working(closing)

    def _next_working(self, local: datetime) -> datetime:
        while local.weekday() >= 5 or local.time() >= WORKDAY[1]:
            local = datetime.combine(local.date() + timedelta(days=1), WORKDAY[0], tzinfo=self.zone)
        if local.time() < WORKDAY[0]:
            local = datetime.combine(local.date(), WORKDAY[0], tzinfo=self.zone)
        return local

    def _sprint_day(self) -> int:
        return (self.clock.astimezone(self.zone).date() - self.active.start).days if self.active else -1

    # Writes, always at the simulation's clock -----------------------------------------------

    def _create(
        self,
        entry: Entry,
        *,
        actor: str,
        sprint: Sprint | None = None,
        state: str = "Backlog",
        estimated: bool = True,
        placement: services.Placement = services.BOTTOM,
    ) -> Story:
        story = services.story_create(
            project=self.project,
            actor=self.users[actor],
            title=entry.title,
            description=_description(entry),
            acceptance_criteria=_acceptance_criteria(entry),
            kind=entry.kind,
            points=entry.points if estimated else None,
            state=self.states[state],
            epic=self.epics[entry.epic],
            labels=[self.labels[name] for name in entry.labels],
            sprint=sprint,
            placement=placement,
            at=self.clock,
            deliverable=self._open_deliverable(entry.title),
        )
        self.stories[story.pk] = story
        self.entries[story.pk] = entry
        return story

    def _update(self, story: Story, actor: str, **fields) -> Story:
        return services.story_update(story=story, actor=self.users[actor], at=self.clock, **fields)

    def _state(self, story: Story, actor: str, name: str, **fields) -> Story:
        return self._update(story, actor, state=self.states[name], **fields)

    def _move(self, story: Story, actor: str, placement: services.Placement, **sprint) -> Story:
        return services.story_move(story=story, actor=self.users[actor], placement=placement, at=self.clock, **sprint)

    def _comment(self, story: Story, author: str, body: str) -> None:
        services.comment_add(story=story, author=self.users[author], body=body, at=self.clock)

    def _backlog(self) -> list[Story]:
        rows = Story.objects.filter(project=self.project).filter(selectors.backlog_filter()).order_by("rank")
        return [self.stories[pk] for pk in rows.values_list("pk", flat=True)]

    def _open_in(self, sprint: Sprint) -> list[Story]:
        rows = Story.objects.alive().filter(sprint=sprint).exclude(state__category__in=CLOSED_CATEGORIES)
        return [self.stories[pk] for pk in rows.order_by("rank").values_list("pk", flat=True)]

    # The calendar: setup week, then plan, start, refine, descope and close each sprint -------------

    def _calendar(self) -> Process:
        setup = self.first_start - timedelta(days=7)
        initial = self._initial_entries()
        moments = sorted(self._after(self._moment(setup, 9), self.rng.uniform(0, 4 * 9)) for _ in initial)
        for entry, at in zip(initial, moments, strict=True):
            yield at
            self._create(entry, actor=self.rng.choice(("owner", "owner", "admin")), estimated=self.rng.random() < 0.6)
        yield self._moment(setup + timedelta(days=4), 15)
        self._refine(backlog_only=True)
        sprint = self._plan_next(0)
        for index in range(CLOSED_SPRINTS + 1):
            start = sprint.start
            yield self._moment(start, 9, 30)
            self._plan(sprint)
            yield self._moment(start, 10)
            self.active = services.sprint_start(sprint=sprint, actor=self.users["owner"], at=self.clock)
            self.added_mid_sprint = 0
            self._pull_everyone()
            yield self._moment(start + timedelta(days=2), 14)
            self._refine()
            following = self._plan_next(index + 1)
            yield self._moment(start + timedelta(days=7), 10)
            self._descope()
            if index == CLOSED_SPRINTS:
                return
            yield self._moment(start + timedelta(days=11), 16)
            self._close(sprint)
            sprint = following

    def _initial_entries(self) -> list[Entry]:
        """The backlog the team starts with: the first three fifths of the early epics' planned work."""
        initial = []
        for code, (_, _, _, wave) in EPICS.items():
            planned = [e for e in CATALOGUE_ENTRIES if e.epic == code and e.kind != "bug"]
            if wave == 0:
                initial += planned[: round(len(planned) * 0.6)]
        return initial

    def _plan_next(self, index: int) -> Sprint:
        start = self.first_start + timedelta(weeks=2 * index)
        sprint = services.sprint_create(
            project=self.project,
            actor=self.users["owner"],
            name=f"Sprint {index + 1}",
            goal=SPRINT_GOALS[index],
            start=start,
            end=start + timedelta(days=self.project.sprint_length_days - 1),
            at=self.clock,
        )
        if index > 0:  # a head start on the next sprint, agreed at refinement
            for story in self._backlog()[: self.rng.randint(1, 3)]:
                self._commit(story, sprint)
        return sprint

    def _commit(self, story: Story, sprint: Sprint) -> None:
        if story.points is None:
            self._estimate(story)
        self._move(story, "owner", services.BOTTOM, sprint=sprint)
        if story.state.category == Category.BACKLOG:
            self._state(story, "owner", "Ready")

    def _estimate(self, story: Story) -> None:
        entry = self.entries[story.pk]
        points = entry.points if entry.points is not None else self.rng.choice((1, 2, 3, 5))
        services.story_estimate(story=story, points=points, actor=self.users["owner"], at=self.clock)

    def _plan(self, sprint: Sprint) -> None:
        """Fill the sprint from the top of the backlog up to the points the team expects to finish."""
        target = self.rng.randint(22, 25) if sprint.start == self.first_start else self.rng.randint(26, 31)
        planned = sum(s.points or 0 for s in self._open_in(sprint))
        for story in self._backlog():
            if planned >= target:
                break
            self._commit(story, sprint)
            planned += story.points or 0

    def _refine(self, *, backlog_only: bool = False) -> None:
        """Backlog refinement: estimate the top of the backlog, reorder it, drop what is no longer wanted."""
        backlog = self._backlog()
        for story in [s for s in backlog[:20] if s.points is None][:8]:
            self._estimate(story)
        if backlog_only or len(backlog) < 12:
            return
        if self.active is not None and self.rng.random() < 0.6:
            # A stakeholder's request jumps the queue: added to the running sprint.
            requests = [s for s in backlog if "stakeholder-request" in self.entries[s.pk].labels]
            urgent = (requests or backlog)[0]
            self._comment(urgent, "owner", "Pulling this into the current sprint: Sofia needs it for the QBRs.")
            self._commit(urgent, self.active)
            backlog.remove(urgent)
            self._pull_everyone()
        for story in self.rng.sample(backlog[8:30], 2):
            self._move(story, "owner", self.rng.choice((services.TOP, services.Placement(after=backlog[1]))))
        if self.rng.random() < 0.5:
            dropped = self.rng.choice(backlog[-15:])
            self._comment(dropped, "owner", "Superseded by the new plan with sales ops; closing.")
            self._state(dropped, "owner", "Won't do")
        if self.rng.random() < 0.4:
            story = self.rng.choice([s for s in backlog[:15] if s.points is not None] or backlog[:1])
            bigger = [p for p in FIBONACCI if p > (story.points or 0)][0]
            services.story_estimate(story=story, points=bigger, actor=self.users["owner"], at=self.clock)

    def _descope(self) -> None:
        """Halfway through, the product owner takes out work that will not fit."""
        waiting = [s for s in self._open_in(self.active) if s.state.category in (Category.BACKLOG, Category.TODO)]
        if len(waiting) >= 2 and self.rng.random() < 0.6:
            story = waiting.pop()
            self._comment(story, "owner", "Descoped: it will not fit this sprint, back to the backlog.")
            self._move(story, "owner", services.TOP, sprint=None)
        if len(waiting) >= 2 and self.rng.random() < 0.35:
            story = waiting.pop()
            self._comment(story, "owner", "Sales ops no longer needs this after the reorganisation.")
            self._state(story, "owner", "Won't do")

    def _close(self, sprint: Sprint) -> None:
        carried = [s.pk for s in self._open_in(sprint)]
        services.sprint_close(sprint=sprint, actor=self.users["owner"], unfinished="next_sprint", at=self.clock)
        for pk in carried:  # moved by sprint_close on its own instances
            self.stories[pk].refresh_from_db()
        self.active = None

    # New work arriving: planned stories, bugs found, stakeholder requests -------------------------

    def _intake(self) -> Process:
        initial = set(self._initial_entries())
        later = [e for e in CATALOGUE_ENTRIES if e not in initial]
        later.sort(key=lambda e: e.wave * 10 + self.rng.uniform(0, 55))
        working_days = [self.first_start + timedelta(days=d) for d in range(2 * 7 * CLOSED_SPRINTS + 5) if (d % 7) < 5]
        for position, entry in enumerate(later):
            day = working_days[position * len(working_days) // len(later)]
            yield max(self._moment(day, 9) + timedelta(minutes=self.rng.randrange(9 * 60)), self.clock)
            self._arrive(entry)

    def _arrive(self, entry: Entry) -> None:
        requester = "stakeholder" if "stakeholder-request" in entry.labels else None
        urgent = entry.kind == "bug" and self.active is not None and self._sprint_day() < 10 and self.rng.random() < 0.4
        if urgent:  # a production bug goes straight into the running sprint
            self._create(entry, actor=self.rng.choice(("owner", "member", "priya")), sprint=self.active, state="Ready")
            self._pull_everyone()
            return
        actor = requester or ("owner" if entry.kind != "bug" else self.rng.choice(DEVELOPERS))
        estimated = self.rng.random() < 0.5
        jumps_the_queue = (entry.kind == "bug" or requester is not None) and self.rng.random() < 0.5
        placement = services.TOP if jumps_the_queue else services.BOTTOM
        story = self._create(entry, actor=actor, estimated=estimated, placement=placement)
        if requester:
            self._comment(story, requester, self.rng.choice(STAKEHOLDER_ASKS))

    def _incidents(self) -> Process:
        """One-off moments the demo should show: an edit, a duplicate removed, a deletion undone."""
        yield self._moment(self.first_start + timedelta(days=1), 11, 20)
        contacts = self._find("Ingest HubSpot contacts")
        self._update(
            contacts,
            "member",
            title="Ingest HubSpot contacts and companies",
            description=contacts.description + "\n\nCompanies come along: attribution needs the company domain.",
        )
        yield self._moment(self.first_start + timedelta(days=16), 11, 5)
        original = self._find("Add a region filter to the revenue dashboard")
        duplicate = self._create(
            Entry(
                "R",
                "story",
                None,
                ("looker", "stakeholder-request"),
                "Region filter on the revenue dashboard please",
                "Regional managers keep asking me for their own numbers.",
            ),
            actor="stakeholder",
        )
        yield self._moment(self.first_start + timedelta(days=17), 9, 40)
        self._comment(original, "owner", f"Sofia asked for this again in {duplicate.key}; keeping this one.")
        services.story_delete(story=duplicate, actor=self.users["owner"], at=self.clock)
        yield self._moment(self.first_start + timedelta(days=44), 15, 10)
        victim = self._backlog()[-1]
        services.story_delete(story=victim, actor=self.users["owner"], at=self.clock)
        yield self._moment(self.first_start + timedelta(days=44), 15, 25)
        services.story_restore(story=victim, actor=self.users["owner"], at=self.clock)
        self._comment(victim, "owner", "Deleted by mistake while cleaning up the backlog; restored.")

    # Deliverables: the data products the stories build, their checklists and publication ----------------

    def _create_deliverables(self, at: datetime) -> None:
        for code, (name, kind, owner, consumers, groups, sources, link, weeks, _) in DELIVERABLES.items():
            deliverable = deliverable_services.deliverable_create(
                project=self.project,
                actor=self.users["owner"],
                name=name,
                kind=kind,
                owner=self.users[owner],
                consumers=[self.users[u] for u in consumers],
                consumer_groups=groups,
                data_sources=sources,
                link=link,
                target_date=self.first_start + timedelta(weeks=weeks),
                description=EPICS[_EPIC_OF[code]][1],
                at=at,
            )
            for item in deliverable.checklist.filter(text__icontains="sign-off"):
                deliverable_services.checklist_item_update(
                    item=item, actor=self.users["owner"], assignee=self.users["stakeholder"], at=at
                )
            self.deliverables[code] = deliverable

    def _open_deliverable(self, title: str) -> Deliverable | None:
        deliverable = self.deliverables.get(self.deliverable_for.get(title, ""))
        return deliverable if deliverable is not None and not deliverable.is_final else None

    def _deliverable_work(self) -> Process:
        """Every working day at 14:00 (inside a sprint, even on closing day): start, validate, tick and publish the
        deliverables whose stories allow it."""
        day = self.first_start
        while True:
            if day.weekday() < 5:
                yield self._moment(day, 14)
                for code, deliverable in self.deliverables.items():
                    if not deliverable.is_final:
                        self._advance(code, deliverable)
            day += timedelta(days=1)

    def _advance(self, code: str, deliverable: Deliverable) -> None:
        stories = list(deliverable_selectors.linked_stories(deliverable))
        if not stories:
            return
        owner = deliverable.owner
        categories = [s.state.category for s in stories]
        started = [c for c in categories if c in (Category.ACTIVE, Category.WAITING, Category.DONE)]
        if deliverable.status == DeliverableStatus.PROPOSED and started:
            deliverable_services.deliverable_change_status(
                deliverable=deliverable, status="in_development", actor=owner, at=self.clock
            )
        open_items = list(deliverable_selectors.checklist(deliverable).filter(done=False))
        all_created = len(stories) == len(DELIVERABLES[code][-1])
        finished = all_created and all(c in CLOSED_CATEGORIES for c in categories)
        some_done = Category.DONE in categories
        if finished and deliverable.status == DeliverableStatus.IN_DEVELOPMENT:
            deliverable_services.deliverable_change_status(
                deliverable=deliverable, status="validating", actor=owner, at=self.clock
            )
        # While stories are still open, some items get ticked early, but never all of them.
        if open_items and (finished or (some_done and len(open_items) > 2)) and self.deliverable_rng.random() < 0.6:
            item = open_items[0]
            ticker = item.assignee or owner
            evidence = EVIDENCE.format(self.deliverable_rng.randrange(1000, 9999)) if item.assignee is None else ""
            deliverable_services.checklist_item_update(
                item=item, actor=ticker, done=True, evidence_url=evidence, at=self.clock
            )
        elif finished and not open_items and deliverable.status == DeliverableStatus.VALIDATING:
            deliverable_services.deliverable_publish(deliverable=deliverable, actor=owner, at=self.clock)

    def _find(self, title: str) -> Story:
        return next(s for s in self.stories.values() if s.title == title)

    # The team: pull the next story, work it through the board ---------------------------------

    def _pull_everyone(self) -> None:
        for dev in self.rng.sample(DEVELOPERS, len(DEVELOPERS)):
            self._pull(dev)

    def _pull(self, dev: str) -> None:
        if self.active is None or self.busy[dev]:
            return
        user = self.users[dev]
        pk = (
            Story.objects.alive()
            .filter(sprint=self.active, state__category__in=(Category.BACKLOG, Category.TODO))
            .filter(Q(assignee__isnull=True) | Q(assignee=user))
            .order_by("rank")
            .values_list("pk", flat=True)
            .first()
        )
        story = self.stories[pk] if pk is not None else self._top_up()
        if story is None:
            return
        if story.kind == "chore" and (story.points or 0) <= 1 and self.rng.random() < 0.6:
            self._state(story, dev, "Done", assignee=user)  # done in passing: Ready straight to Done
            self.spawn(self._pull_later(dev), self.clock)
            return
        self.busy[dev].add(story.pk)
        self._state(story, dev, "In progress", assignee=user)
        self.spawn(self._work(story, dev), self.clock)

    def _pull_later(self, dev: str) -> Process:
        yield 1.0
        self._pull(dev)

    def _top_up(self) -> Story | None:
        """Someone ran out of work early in the sprint: the product owner adds the next story from the backlog."""
        if self.added_mid_sprint >= 2 or self._sprint_day() > 8:
            return None
        backlog = self._backlog()
        if not backlog:
            return None
        self.added_mid_sprint += 1
        self._commit(backlog[0], self.active)
        return backlog[0]

    def _release(self, dev: str, story: Story) -> None:
        self.busy[dev].discard(story.pk)
        self._pull(dev)

    def _work(self, story: Story, dev: str) -> Process:
        """One story from In progress to Done (or Won't do), with what happens on the way."""
        rng = self.rng
        fate = FATES.get(story.title) or rng.choices(("normal", "reopen", "cancel", "block"), (80, 5, 3, 12))[0]
        remaining = (float(story.points) if story.points else 2.0) * self.speed[dev] * rng.lognormvariate(0, 0.25)
        if fate == "cancel":
            yield remaining * 0.4
            self._comment(
                story, dev, "Stopping here: what we learned so far answers the question; the rest is not worth it."
            )
            self._state(story, dev, "Won't do")
            self._release(dev, story)
            return
        if story.points and rng.random() < 0.15:
            yield remaining * 0.3
            remaining *= 0.7
            bigger = [p for p in FIBONACCI if p > story.points][0]
            remaining *= bigger / float(story.points)
            self._comment(story, dev, rng.choice(REESTIMATE_NOTES))
            services.story_estimate(story=story, points=bigger, actor=self.users[dev], at=self.clock)
        if fate == "block":
            yield remaining * rng.uniform(0.2, 0.5)
            remaining *= 0.6
            reason = rng.choice(BLOCK_REASONS)
            story = self._update(story, dev, blocked=True, blocked_reason=reason)
            self._release(dev, story)
            yield rng.uniform(4, 20)
            self._update(story, dev, blocked=False)
            self.busy[dev].add(story.pk)
        if rng.random() < 0.25:
            yield remaining * rng.uniform(0.4, 0.8)
            remaining *= 0.3
            self._comment(story, dev, rng.choice(WAITING_NOTES))
            self._state(story, dev, "Waiting")
            self._release(dev, story)
            yield rng.uniform(3, 16)
            self._state(story, dev, "In progress")
            self.busy[dev].add(story.pk)
        yield remaining
        yield from self._finish(story, dev)
        if fate == "reopen" or rng.random() < 0.03:
            yield rng.uniform(3, 12)
            if self.active is None or story.sprint_id != self.active.pk:
                return  # its sprint is closed: history stays, a follow-up would be a new story
            self._comment(story, self.rng.choice(("owner", "stakeholder")), rng.choice(REOPEN_NOTES))
            self._state(story, dev, "In progress")
            self.busy[dev].add(story.pk)
            yield rng.uniform(2, 8)
            yield from self._finish(story, dev)

    def _finish(self, story: Story, dev: str) -> Process:
        rng = self.rng
        if story.kind == "spike" or rng.random() < 0.3:  # no validation step: straight to Done
            self._state(story, dev, "Done")
            self._release(dev, story)
            return
        self._state(story, dev, "Validating")
        self._release(dev, story)
        yield rng.uniform(2, 10)
        if rng.random() < 0.12:
            self._comment(story, "owner", rng.choice(VALIDATION_FAILURES))
            self._state(story, "owner", "In progress")
            self.busy[dev].add(story.pk)
            yield rng.uniform(2, 6)
            self._state(story, dev, "Validating")
            self._release(dev, story)
            yield rng.uniform(1, 4)
        if rng.random() < 0.3:
            self._comment(story, "owner", rng.choice(VALIDATION_NOTES))
        self._state(story, "owner", "Done")


CATALOGUE_ENTRIES = _catalogue()
_EPIC_OF = {"crm": "C", "pipeline": "P", "revenue": "R", "churn": "M"}
