{{/*
Names
=====
Kubernetes names are DNS labels: at most 63 characters. Rather than cutting a
long name (which can make two releases' names equal), "sprintboard.trimName"
keeps short names as they are and replaces the tail of a long one with a hash
of the whole name, so distinct inputs stay distinct.
Usage: include "sprintboard.trimName" (list $name 63)
*/}}
{{- define "sprintboard.trimName" -}}
{{- $name := index . 0 -}}
{{- $limit := int (index . 1) -}}
{{- if le (len $name) $limit -}}
{{- $name -}}
{{- else -}}
{{- printf "%s-%s" (trunc (int (sub $limit 9)) $name | trimSuffix "-") (sha256sum $name | trunc 8) -}}
{{- end -}}
{{- end }}

{{/*
The chart name, used in the app.kubernetes.io/name label.
*/}}
{{- define "sprintboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's base name, at most 63 characters.
Unlike `helm create`, the release name is used alone only when it *equals* the
chart name: with "contains", releases "a" and "a-sprintboard" in one namespace
would both be called "a-sprintboard".
*/}}
{{- define "sprintboard.fullname" -}}
{{- include "sprintboard.trimName" (list (include "sprintboard.untrimmedFullname" .) 63) }}
{{- end }}

{{- define "sprintboard.untrimmedFullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if eq $name .Release.Name }}
{{- .Release.Name }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The name of one component's objects: <fullname>-<component>, at most 63 characters.
Usage: include "sprintboard.componentName" (dict "context" $ "component" "web")
*/}}
{{- define "sprintboard.componentName" -}}
{{- $full := include "sprintboard.untrimmedFullname" .context }}
{{- include "sprintboard.trimName" (list (printf "%s-%s" $full .component) 63) }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "sprintboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels
======
selectorLabels carry only name, instance and component: Deployment selectors
are immutable, so nothing that changes between upgrades may be in them.
Usage: include "sprintboard.labels" (dict "context" $ "component" "web")
*/}}
{{- define "sprintboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sprintboard.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{- define "sprintboard.labels" -}}
helm.sh/chart: {{ include "sprintboard.chart" .context }}
{{ include "sprintboard.selectorLabels" . }}
app.kubernetes.io/version: {{ include "sprintboard.imageTag" .context | replace "+" "_" | replace "@" "_" | replace ":" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: sprintboard
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
{{- end }}

{{/*
Image
*/}}
{{- define "sprintboard.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "sprintboard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "sprintboard.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Service account
*/}}
{{- define "sprintboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sprintboard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The migrations Job runs before the release's own objects exist, so when the
chart creates the service account it creates a hook copy for the Job.
*/}}
{{- define "sprintboard.migrationsServiceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- include "sprintboard.componentName" (dict "context" . "component" "migrate") }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Configuration
=============
The environment every pod shares, in one place so the release ConfigMap, the
migrations hook ConfigMap and the checksum annotations all see the same data.
*/}}
{{- define "sprintboard.webServiceName" -}}
{{- include "sprintboard.componentName" (dict "context" . "component" "web") }}
{{- end }}

{{- define "sprintboard.allowedHosts" -}}
{{- $svc := include "sprintboard.webServiceName" . }}
{{- $ns := .Release.Namespace }}
{{- $hosts := concat .Values.django.allowedHosts (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns)) }}
{{- if .Values.ingress.enabled }}
{{- $hosts = concat .Values.ingress.hosts $hosts }}
{{- end }}
{{- join "," (uniq $hosts) }}
{{- end }}

{{- define "sprintboard.csrfTrustedOrigins" -}}
{{- $origins := list }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- $origins = append $origins (printf "https://%s" .) }}
{{- end }}
{{- end }}
{{- join "," (uniq (concat $origins .Values.django.csrfTrustedOrigins)) }}
{{- end }}

{{- define "sprintboard.configData" -}}
DJANGO_ALLOWED_HOSTS: {{ include "sprintboard.allowedHosts" . | quote }}
DJANGO_CSRF_TRUSTED_ORIGINS: {{ include "sprintboard.csrfTrustedOrigins" . | quote }}
DJANGO_DEBUG: {{ .Values.django.debug | toString | quote }}
DJANGO_SECURE_SSL_REDIRECT: {{ .Values.django.secureSslRedirect | toString | quote }}
DJANGO_HSTS_SECONDS: {{ .Values.django.hstsSeconds | int | toString | quote }}
DJANGO_LOG_FORMAT: {{ .Values.django.logFormat | quote }}
DJANGO_LOG_LEVEL: {{ .Values.django.logLevel | quote }}
{{- with .Values.security }}
SPRINTBOARD_LOGIN_FAILURE_LIMIT: {{ .loginFailureLimit | toString | quote }}
SPRINTBOARD_LOGIN_COOLOFF_MINUTES: {{ .loginCooloffMinutes | toString | quote }}
SPRINTBOARD_API_RATE_USER: {{ .apiRateUser | quote }}
SPRINTBOARD_API_RATE_ADDRESS: {{ .apiRateAddress | quote }}
SPRINTBOARD_API_RATE_TOKEN_FAILURES: {{ .apiRateTokenFailures | quote }}
SPRINTBOARD_TOKEN_TTL_DAYS: {{ .tokenTtlDays | toString | quote }}
SPRINTBOARD_PASSWORD_CHANGE_REVOKES_TOKENS: {{ .passwordChangeRevokesTokens | toString | quote }}
SPRINTBOARD_MARKDOWN_IMAGE_HOSTS: {{ join "," .markdownImageHosts | quote }}
{{- end }}
{{- with .Values.reports }}
SPRINTBOARD_REPORTS_MAX_PENDING_PER_USER: {{ .maxPendingPerUser | toString | quote }}
SPRINTBOARD_REPORTS_MAX_PENDING_PER_PROJECT: {{ .maxPendingPerProject | toString | quote }}
SPRINTBOARD_REPORTS_STUCK_MARGIN_SECONDS: {{ .stuckMarginSeconds | toString | quote }}
SPRINTBOARD_REPORTS_QUEUED_EXPIRY_SECONDS: {{ .queuedExpirySeconds | toString | quote }}
SPRINTBOARD_REPORTS_UNUSED_DAYS: {{ .unusedDays | toString | quote }}
SPRINTBOARD_REPORT_MAX_MEMORY_MB: {{ .maxMemoryMb | toString | quote }}
{{- end }}
{{- /* The Ingress controller sets X-Forwarded-Proto (and replaces a client's); without an Ingress, nobody does. */}}
SPRINTBOARD_TRUST_X_FORWARDED_PROTO: {{ (kindIs "invalid" .Values.security.trustForwardedProto) | ternary .Values.ingress.enabled .Values.security.trustForwardedProto | toString | quote }}
{{- with .Values.webhooks }}
SPRINTBOARD_WEBHOOK_ALLOW_PRIVATE: {{ .allowPrivate | toString | quote }}
SPRINTBOARD_WEBHOOK_TIMEOUT_SECONDS: {{ .timeoutSeconds | toString | quote }}
SPRINTBOARD_WEBHOOK_RETRY_SECONDS: {{ .retrySeconds | toString | quote }}
SPRINTBOARD_WEBHOOK_RETRY_MAX_SECONDS: {{ .retryMaxSeconds | toString | quote }}
SPRINTBOARD_WEBHOOK_DISABLE_AFTER_HOURS: {{ .disableAfterHours | toString | quote }}
{{- end }}
{{- /* The Ingress controller is one proxy in front of the pods; without an Ingress, none. */}}
SPRINTBOARD_NUM_PROXIES: {{ (kindIs "invalid" .Values.security.numProxies) | ternary (ternary 1 0 .Values.ingress.enabled) .Values.security.numProxies | toString | quote }}
{{- with .Values.email }}
{{- $baseUrl := .baseUrl | default (ternary (printf "https://%s" (first $.Values.ingress.hosts | default "localhost")) "" $.Values.ingress.enabled) }}
{{- if $baseUrl }}
SPRINTBOARD_BASE_URL: {{ $baseUrl | quote }}
{{- end }}
{{- if .from }}
DEFAULT_FROM_EMAIL: {{ .from | quote }}
{{- end }}
{{- if .host }}
EMAIL_HOST: {{ .host | quote }}
EMAIL_PORT: {{ .port | toString | quote }}
EMAIL_HOST_USER: {{ .user | quote }}
EMAIL_USE_TLS: {{ .useTls | toString | quote }}
{{- end }}
{{- end }}
{{- with .Values.imap }}
{{- if .host }}
SPRINTBOARD_IMAP_HOST: {{ .host | quote }}
SPRINTBOARD_IMAP_PORT: {{ .port | toString | quote }}
SPRINTBOARD_IMAP_SSL: {{ .ssl | toString | quote }}
SPRINTBOARD_IMAP_STARTTLS: {{ .starttls | toString | quote }}
SPRINTBOARD_IMAP_USER: {{ .user | quote }}
SPRINTBOARD_IMAP_MAILBOX: {{ .mailbox | quote }}
SPRINTBOARD_IMAP_PROJECT: {{ .project | quote }}
SPRINTBOARD_IMAP_POLL_SECONDS: {{ .pollSeconds | toString | quote }}
{{- end }}
{{- end }}
{{- range $name, $value := .Values.env }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
URLs built from host/port/user/password values. Userinfo is percent-encoded:
urlquery is Go's QueryEscape, which writes a space as "+" and a "+" as "%2B",
so turning the remaining "+" into "%20" gives a correct escape for a URL's
user and password.
*/}}
{{- define "sprintboard.urlEscape" -}}
{{- . | toString | urlquery | replace "+" "%20" }}
{{- end }}

{{- define "sprintboard.databaseUrl" -}}
{{- $db := .Values.database }}
{{- if $db.url }}
{{- $db.url }}
{{- else if $db.host }}
{{- $auth := include "sprintboard.urlEscape" $db.user }}
{{- if $db.password }}
{{- $auth = printf "%s:%s" $auth (include "sprintboard.urlEscape" $db.password) }}
{{- end }}
{{- printf "postgres://%s@%s:%d/%s" $auth $db.host (int $db.port) $db.name }}
{{- if $db.sslmode }}?sslmode={{ $db.sslmode }}{{ end }}
{{- end }}
{{- end }}

{{- define "sprintboard.redisUrl" -}}
{{- $r := .Values.redis }}
{{- if $r.url }}
{{- $r.url }}
{{- else if $r.host }}
{{- $auth := "" }}
{{- if $r.password }}
{{- $auth = printf "%s:%s@" (include "sprintboard.urlEscape" $r.username) (include "sprintboard.urlEscape" $r.password) }}
{{- else if $r.username }}
{{- $auth = printf "%s@" (include "sprintboard.urlEscape" $r.username) }}
{{- end }}
{{- printf "%s://%s%s:%d/%d" (ternary "rediss" "redis" $r.tls) $auth $r.host (int $r.port) (int $r.db) }}
{{- end }}
{{- end }}

{{/*
The Django secret key, base64-encoded. An explicit value wins; otherwise the
key already stored in the release Secret is kept (lookup works only against a
live cluster), and a new random key is made on first install. Renders with
`helm template` or GitOps tools cannot look up, so production sets
django.secretKey or existingSecret.
*/}}
{{- define "sprintboard.secretKeyB64" -}}
{{- if .Values.django.secretKey }}
{{- .Values.django.secretKey | b64enc }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "sprintboard.fullname" .) | default dict }}
{{- dig "data" "DJANGO_SECRET_KEY" (randAlphaNum 50 | b64enc) $existing }}
{{- end }}
{{- end }}

{{- define "sprintboard.secretData" -}}
DJANGO_SECRET_KEY: {{ include "sprintboard.secretKeyB64" . | quote }}
DATABASE_URL: {{ include "sprintboard.databaseUrl" . | b64enc | quote }}
REDIS_URL: {{ include "sprintboard.redisUrl" . | b64enc | quote }}
{{- with .Values.metrics.token }}
SPRINTBOARD_METRICS_TOKEN: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.email.password }}
EMAIL_HOST_PASSWORD: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.imap.password }}
SPRINTBOARD_IMAP_PASSWORD: {{ . | b64enc | quote }}
{{- end }}
{{- range $name, $value := .Values.secretEnv }}
{{ $name }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{/*
The Secret every pod reads: the chart's own, or the one named by existingSecret.
*/}}
{{- define "sprintboard.secretName" -}}
{{- default (include "sprintboard.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
Values that cannot work, refused with a message that says what to write.
With existingSecret, the values that would have gone into the chart's Secret
are not used: say so instead of ignoring them.
*/}}
{{- define "sprintboard.validateValues" -}}
{{- if .Values.existingSecret }}
{{- $ignored := list }}
{{- if .Values.django.secretKey }}{{ $ignored = append $ignored "django.secretKey" }}{{ end }}
{{- if .Values.database.url }}{{ $ignored = append $ignored "database.url" }}{{ end }}
{{- if .Values.database.host }}{{ $ignored = append $ignored "database.host" }}{{ end }}
{{- if .Values.database.password }}{{ $ignored = append $ignored "database.password" }}{{ end }}
{{- if .Values.redis.url }}{{ $ignored = append $ignored "redis.url" }}{{ end }}
{{- if .Values.redis.host }}{{ $ignored = append $ignored "redis.host" }}{{ end }}
{{- if .Values.redis.password }}{{ $ignored = append $ignored "redis.password" }}{{ end }}
{{- if .Values.secretEnv }}{{ $ignored = append $ignored "secretEnv" }}{{ end }}
{{- if .Values.email.password }}{{ $ignored = append $ignored "email.password" }}{{ end }}
{{- if .Values.imap.password }}{{ $ignored = append $ignored "imap.password" }}{{ end }}
{{- if $ignored }}
{{- fail (printf "existingSecret %q is set, so %s would be ignored: put DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL (and any extra secret variables, e.g. EMAIL_HOST_PASSWORD) in that Secret and unset these values" .Values.existingSecret (join ", " $ignored)) }}
{{- end }}
{{- end }}
{{- with .Values.imap }}
{{- if .host }}
{{- if not (and .user .project) }}
{{- fail "imap.host is set, so set imap.user (the mailbox's login) and imap.project (the key of the project it feeds, e.g. DATA)" }}
{{- end }}
{{- if and .ssl .starttls }}
{{- fail "imap.ssl and imap.starttls are both true: IMAPS is already encrypted; for STARTTLS set ssl: false and port: 143" }}
{{- end }}
{{- if not (or .password $.Values.existingSecret) }}
{{- fail "imap.host is set but imap.password is empty: set it, or put SPRINTBOARD_IMAP_PASSWORD in the Secret named by existingSecret" }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) }}
{{- fail "ingress.enabled is true but ingress.hosts is empty: list the host names the app is served on" }}
{{- end }}
{{- end }}

{{/*
Pod pieces shared by every workload
===================================
*/}}
{{- define "sprintboard.podAnnotations" -}}
checksum/config: {{ include "sprintboard.configData" . | sha256sum }}
{{- if .Values.existingSecret }}
checksum/secret: {{ .Values.existingSecret | sha256sum }}
{{- else }}
checksum/secret: {{ include "sprintboard.secretData" . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Usage: include "sprintboard.envFrom" (dict "configMap" $name "secret" $name)
*/}}
{{- define "sprintboard.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ .configMap }}
  - secretRef:
      name: {{ .secret }}
{{- end }}

{{- define "sprintboard.tmpVolume" -}}
- name: tmp
  emptyDir:
    {{- with .Values.tmpVolume.medium }}
    medium: {{ . }}
    {{- end }}
    {{- with .Values.tmpVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- end }}

{{- define "sprintboard.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
Scheduling: a component's own nodeSelector/tolerations/affinity replace the
chart-wide ones when set.
Usage: include "sprintboard.scheduling" (dict "context" $ "component" .Values.web)
*/}}
{{- define "sprintboard.scheduling" -}}
{{- $v := .context.Values }}
{{- with (.component.nodeSelector | default $v.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.component.tolerations | default $v.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.component.affinity | default $v.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.component.topologySpreadConstraints | default $v.topologySpreadConstraints) }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}

{{- define "sprintboard.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
NetworkPolicy egress shared by every pod: DNS, PostgreSQL and Redis, each to
the peers configured (anywhere on that port when none are), plus extra rules.
*/}}
{{- define "sprintboard.networkPolicyEgress" -}}
{{- $egress := .Values.networkPolicy.egress -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
  {{- with $egress.dns }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
- ports:
    - port: {{ .Values.database.port }}
      protocol: TCP
  {{- with $egress.database }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
- ports:
    - port: {{ .Values.redis.port }}
      protocol: TCP
  {{- with $egress.redis }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if .Values.email.host }}
- ports:
    - port: {{ .Values.email.port }}
      protocol: TCP
  {{- with $egress.smtp }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if .Values.imap.host }}
- ports:
    - port: {{ .Values.imap.port }}
      protocol: TCP
  {{- with $egress.imap }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- with $egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Event-log verification
======================
The pod that runs `manage.py verify_events`, shared by the CronJob and its
`helm test` pod so both check with the same image, environment, account and
limits. restartPolicy Never: a mismatch exits 1 and must stay a failure, not
be restarted in place until it passes.
*/}}
{{- define "sprintboard.verifyEventsPodSpec" -}}
restartPolicy: Never
serviceAccountName: {{ include "sprintboard.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with include "sprintboard.imagePullSecrets" . }}
{{ . | trim }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with include "sprintboard.scheduling" (dict "context" . "component" .Values.verifyEvents) }}
{{ . | trim }}
{{- end }}
containers:
  - name: verify-events
    image: {{ include "sprintboard.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args: ["python", "manage.py", "verify_events"]
    {{- include "sprintboard.envFrom" (dict "configMap" (include "sprintboard.fullname" .) "secret" (include "sprintboard.secretName" .)) | nindent 4 }}
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
    resources:
      {{- toYaml .Values.verifyEvents.resources | nindent 6 }}
    volumeMounts:
      {{- include "sprintboard.tmpVolumeMount" . | nindent 6 }}
volumes:
  {{- include "sprintboard.tmpVolume" . | nindent 2 }}
{{- end }}
