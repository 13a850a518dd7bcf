{{/*
Names and labels.
*/}}
{{- define "arbiter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "arbiter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "arbiter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "arbiter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "arbiter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "arbiter.labels" -}}
helm.sh/chart: {{ include "arbiter.chart" . }}
{{ include "arbiter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: policy-decision-point
app.kubernetes.io/part-of: arbiter
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "arbiter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "arbiter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "arbiter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The chart's Secret (inline values) and the chart's two ConfigMaps. */}}
{{- define "arbiter.secretName" -}}
{{- include "arbiter.fullname" . }}
{{- end }}
{{- define "arbiter.configName" -}}
{{- printf "%s-config" (include "arbiter.fullname" .) }}
{{- end }}
{{- define "arbiter.policyName" -}}
{{- printf "%s-policy" (include "arbiter.fullname" .) }}
{{- end }}

{{/*
Each secret-backed setting: the Secret (the user's existingSecret, else the chart's own
when an inline value is given) and the key in it. Empty name: the setting is off.
*/}}
{{- define "arbiter.redisPasswordSecret" -}}
{{- if .Values.redis.auth.existingSecret }}{{ .Values.redis.auth.existingSecret }}{{- else if .Values.redis.auth.password }}{{ include "arbiter.secretName" . }}{{- end }}
{{- end }}
{{- define "arbiter.signingSecret" -}}
{{- if .Values.signing.existingSecret }}{{ .Values.signing.existingSecret }}{{- else if .Values.signing.privateKeyPem }}{{ include "arbiter.secretName" . }}{{- end }}
{{- end }}
{{- define "arbiter.jwksSecret" -}}
{{- if .Values.auth.jwks.existingSecret }}{{ .Values.auth.jwks.existingSecret }}{{- else if .Values.auth.jwks.json }}{{ include "arbiter.secretName" . }}{{- end }}
{{- end }}
{{- define "arbiter.webhookSecret" -}}
{{- if .Values.webhooks.secret.existingSecret }}{{ .Values.webhooks.secret.existingSecret }}{{- else if .Values.webhooks.secret.value }}{{ include "arbiter.secretName" . }}{{- end }}
{{- end }}
{{- define "arbiter.otlpHeadersSecret" -}}
{{- if .Values.otel.headers.existingSecret }}{{ .Values.otel.headers.existingSecret }}{{- else if .Values.otel.headers.value }}{{ include "arbiter.secretName" . }}{{- end }}
{{- end }}
{{- define "arbiter.driftApiKeySecret" -}}
{{- if .Values.drift.apiKey.existingSecret }}{{ .Values.drift.apiKey.existingSecret }}{{- else if .Values.drift.apiKey.value }}{{ include "arbiter.secretName" . }}{{- end }}
{{- end }}

{{/* Whether the chart renders its own Secret: any inline secret value not shadowed by an existingSecret. */}}
{{- define "arbiter.ownSecret" -}}
{{- $own := include "arbiter.secretName" . }}
{{- if or (eq (include "arbiter.redisPasswordSecret" .) $own) (eq (include "arbiter.signingSecret" .) $own) (eq (include "arbiter.jwksSecret" .) $own) (eq (include "arbiter.webhookSecret" .) $own) (eq (include "arbiter.otlpHeadersSecret" .) $own) (eq (include "arbiter.driftApiKeySecret" .) $own) }}true{{- end }}
{{- end }}

{{/* host:port,host:port from a list of {host, port}. */}}
{{- define "arbiter.hostList" -}}
{{- $hosts := list }}
{{- range .nodes }}
{{- $hosts = append $hosts (printf "%s:%d" .host (int .port)) }}
{{- end }}
{{- join "," $hosts }}
{{- end }}

{{/*
ARBITER_REDIS_URL:
  standalone  redis.url as given (redis:// or rediss://)
  sentinel    redis+sentinel://s1:26379,s2:26379/<masterName>   (rediss+sentinel:// with TLS)
  cluster     redis+cluster://n1:6379,n2:6379                   (rediss+cluster:// with TLS)
Credentials never go into the URL: the password is ARBITER_REDIS_PASSWORD (secretKeyRef).
*/}}
{{- define "arbiter.redisUrl" -}}
{{- $r := .Values.redis }}
{{- $scheme := ternary "rediss" "redis" $r.tls.enabled }}
{{- if eq $r.mode "standalone" }}
{{- $r.url }}
{{- else if eq $r.mode "sentinel" }}
{{- printf "%s+sentinel://%s/%s" $scheme (include "arbiter.hostList" (dict "nodes" $r.sentinel.sentinels)) $r.sentinel.masterName }}
{{- else if eq $r.mode "cluster" }}
{{- printf "%s+cluster://%s" $scheme (include "arbiter.hostList" (dict "nodes" $r.cluster.nodes)) }}
{{- end }}
{{- end }}

{{/* Whether receipts are exported (an OTLP logs endpoint is in effect). */}}
{{- define "arbiter.exporting" -}}
{{- if and (not .Values.otel.sdkDisabled) (or .Values.otel.endpoint .Values.otel.logsEndpoint) }}true{{- end }}
{{- end }}

{{/* ARBITER_POLICY_DIR: the chart's ConfigMap folder, then the existing ConfigMap's. */}}
{{- define "arbiter.policyDirs" -}}
{{- $dirs := list }}
{{- if and .Values.policy.create .Values.policy.rego }}
{{- $dirs = append $dirs .Values.policy.mountPath }}
{{- end }}
{{- if .Values.policy.existingConfigMap }}
{{- $dirs = append $dirs .Values.policy.existingConfigMapMountPath }}
{{- end }}
{{- join ":" $dirs }}
{{- end }}

{{/*
Combinations the schema cannot express; each stops the render with a message naming the values.
*/}}
{{- define "arbiter.validate" -}}
{{- $v := .Values }}
{{- $multi := or (gt (int $v.replicaCount) 1) $v.autoscaling.enabled }}
{{- if and $multi (eq $v.redis.mode "none") }}
{{- fail "redis.mode \"none\" (the embedded in-memory store) serves one pod only: set redis.mode (standalone, sentinel or cluster) for replicaCount > 1 or autoscaling" }}
{{- end }}
{{- if and $multi (not (include "arbiter.signingSecret" .)) }}
{{- fail "several pods need one shared signing key (signing.existingSecret or signing.privateKeyPem): with ephemeral keys each pod signs with its own key" }}
{{- end }}
{{- if and $v.tls.clientCaSecret (not $v.tls.existingSecret) }}
{{- fail "tls.clientCaSecret (mTLS) needs tls.existingSecret: client certificates are asked for over TLS only" }}
{{- end }}
{{- if and $v.redis.tls.caSecret (or (eq $v.redis.mode "none") (not $v.redis.tls.enabled)) }}
{{- fail "redis.tls.caSecret needs redis.tls.enabled (and a redis.mode other than none)" }}
{{- end }}
{{- if and (eq $v.redis.mode "standalone") (not $v.redis.url) }}
{{- fail "redis.mode standalone needs redis.url (redis://host:6379 or rediss://host:6379)" }}
{{- end }}
{{- if and (eq $v.redis.mode "standalone") $v.redis.tls.enabled (not (hasPrefix "rediss://" $v.redis.url)) }}
{{- fail "redis.tls.enabled with redis.mode standalone needs a rediss:// redis.url" }}
{{- end }}
{{- if and (eq $v.redis.mode "standalone") (not $v.redis.tls.enabled) (hasPrefix "rediss://" $v.redis.url) }}
{{- fail "redis.url is rediss://: set redis.tls.enabled too" }}
{{- end }}
{{- if and (eq $v.redis.mode "sentinel") (not $v.redis.sentinel.sentinels) }}
{{- fail "redis.mode sentinel needs redis.sentinel.sentinels (a list of {host, port})" }}
{{- end }}
{{- if and (eq $v.redis.mode "cluster") (not $v.redis.cluster.nodes) }}
{{- fail "redis.mode cluster needs redis.cluster.nodes (a list of {host, port})" }}
{{- end }}
{{- if and (ne $v.redis.mode "none") (ne $v.redis.mode "standalone") $v.redis.url }}
{{- fail (printf "redis.url is for redis.mode standalone; with %s use redis.%s" $v.redis.mode $v.redis.mode) }}
{{- end }}
{{- if and (eq $v.auth.mode "off") (not $v.auth.insecureAllowNoAuth) }}
{{- fail "auth.mode \"off\" would open the service to whoever reaches its port, with every role (revocations, policy reloads, receipts, approvals). Set auth.mode jwt with auth.jwksUrl or auth.jwks, auth.issuer and auth.audience; or, for a trial nobody else can reach, auth.insecureAllowNoAuth: true" }}
{{- end }}
{{- if and (ne $v.auth.mode "off") $v.auth.insecureAllowNoAuth }}
{{- fail "auth.insecureAllowNoAuth is for auth.mode \"off\" only: remove it" }}
{{- end }}
{{- if eq $v.auth.mode "jwt" }}
{{- if eq (empty $v.auth.jwksUrl) (empty (include "arbiter.jwksSecret" .)) }}
{{- fail "auth.mode jwt (the chart's default) needs exactly one of auth.jwksUrl and auth.jwks (existingSecret or json), and auth.issuer and auth.audience; for a trial without an identity provider set auth.mode \"off\" and auth.insecureAllowNoAuth: true" }}
{{- end }}
{{- if or (not $v.auth.issuer) (not $v.auth.audience) }}
{{- fail "auth.mode jwt needs auth.issuer and auth.audience: the iss and aud of every token are checked" }}
{{- end }}
{{- if and $v.auth.agentAudience (eq $v.auth.agentAudience $v.auth.audience) }}
{{- fail "auth.agentAudience must differ from auth.audience: otherwise an agent token is also a caller token" }}
{{- end }}
{{- end }}
{{- if and $v.serviceMonitor.enabled (eq $v.auth.mode "jwt") (not $v.metrics.public) (not $v.serviceMonitor.bearerTokenSecret.name) }}
{{- fail "serviceMonitor.enabled with auth.mode jwt: /metrics needs a bearer token with the role auditor or admin, which Prometheus would not send. Set serviceMonitor.bearerTokenSecret (name, key) to a Secret holding such a token, or metrics.public: true to serve /metrics without one, or serviceMonitor.enabled: false and scrape with your own config" }}
{{- end }}
{{- if and $v.webhooks.urls (not (include "arbiter.webhookSecret" .)) }}
{{- fail "webhooks.urls needs webhooks.secret (existingSecret or value) to sign the notifications" }}
{{- end }}
{{- if and (eq $v.drift.mode "remote") (or (not $v.drift.url) (not $v.drift.model)) }}
{{- fail "drift.mode remote needs drift.url (the embeddings endpoint, http(s)://...) and drift.model" }}
{{- end }}
{{- if and $v.signing.verifyKeys (not $v.signing.existingSecret) }}
{{- fail "signing.verifyKeys names keys of signing.existingSecret; with an inline key use signing.verifyKeyPems" }}
{{- end }}
{{- if and $v.signing.verifyKeyPems $v.signing.existingSecret }}
{{- fail "signing.verifyKeyPems is for the chart's Secret; with signing.existingSecret list the rotated keys' names in signing.verifyKeys" }}
{{- end }}
{{- if not (include "arbiter.policyDirs" .) }}
{{- fail "no policy: set policy.create with policy.rego (file name -> content), or policy.existingConfigMap" }}
{{- end }}
{{- if and $v.policy.create $v.policy.existingConfigMap (eq $v.policy.mountPath $v.policy.existingConfigMapMountPath) }}
{{- fail "policy.mountPath and policy.existingConfigMapMountPath must differ" }}
{{- end }}
{{- $startupSeconds := mul $v.probes.startup.periodSeconds $v.probes.startup.failureThreshold }}
{{- if lt (mul $startupSeconds 1000) (int64 $v.policy.compileTimeoutMs) }}
{{- fail (printf "probes.startup allows %d s before a restart, less than policy.compileTimeoutMs (%d ms): the first compile could never finish" $startupSeconds (int64 $v.policy.compileTimeoutMs)) }}
{{- end }}
{{- end }}
