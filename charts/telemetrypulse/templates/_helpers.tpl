{{/*
Names: the release's full name (fullnameOverride, or the release name with the chart's name unless
it already holds it), cut to fit a DNS label with a component suffix.
*/}}
{{- define "tp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "tp.chartName" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The chart's name in names and in app.kubernetes.io/name: nameOverride, or the chart's own. */}}
{{- define "tp.chartName" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "tp.name" -}}
{{- printf "%s-%s" (include "tp.fullname" .root) .component -}}
{{- end -}}

{{/*
The ServiceAccount a component's pods run as: its own (<fullname>-<component> unless named) when
serviceAccount.create, else the one named, else the namespace's default.
*/}}
{{- define "tp.serviceAccountName" -}}
{{- $sa := (index .root.Values .component).serviceAccount | default dict -}}
{{- if $sa.create -}}
{{- $sa.name | default (include "tp.name" .) -}}
{{- else -}}
{{- $sa.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object; selector labels are the stable subset. */}}
{{- define "tp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tp.chartName" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tp.labels" -}}
{{ include "tp.selectorLabels" . }}
app.kubernetes.io/part-of: telemetrypulse
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
A pod template's metadata, for dict "root" $ "component" <name> and optionally "annotations" (the
template's own): <component>.podLabels and .podAnnotations join the chart's, which win a clash, so
the Deployment's selector always matches and the checksums still roll the pods.
*/}}
{{- define "tp.podMetadata" -}}
{{- $values := index .root.Values .component -}}
{{- $labels := merge (include "tp.labels" . | fromYaml) (deepCopy ($values.podLabels | default dict)) -}}
{{- $annotations := merge (deepCopy (.annotations | default dict)) (deepCopy ($values.podAnnotations | default dict)) -}}
labels:
  {{- toYaml $labels | nindent 2 }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The simulators' pod settings, as the operator's SIMULATOR_POD (JSON); empty when none is set.
*/}}
{{- define "tp.simulatorPod" -}}
{{- $values := .Values.simulator -}}
{{- $pod := dict -}}
{{- range $key, $field := dict "podAnnotations" "annotations" "podLabels" "labels" "priorityClassName" "priorityClassName" "nodeSelector" "nodeSelector" "tolerations" "tolerations" "affinity" "affinity" "topologySpreadConstraints" "topologySpreadConstraints" -}}
{{- with index $values $key }}{{ $_ := set $pod $field . }}{{ end -}}
{{- end -}}
{{- if $pod }}{{ toJson $pod }}{{ end -}}
{{- end -}}

{{/*
The preStop wait of a pod that Services send requests to: `seconds` during which it still serves
while its address leaves the Service and the Ingress, before SIGTERM starts its drain. The
kubelet's own sleep where it has one (Kubernetes 1.30), else Node.js in the app's image (no shell
or sleep binary there).
*/}}
{{- define "tp.preStopWait" -}}
{{- if gt (int .seconds) 0 -}}
lifecycle:
  preStop:
    {{- if semverCompare ">=1.30-0" .root.Capabilities.KubeVersion.Version }}
    sleep: { seconds: {{ int .seconds }} }
    {{- else }}
    exec:
      command: [node, -e, "setTimeout(() => {}, {{ mul (int .seconds) 1000 }})"]
    {{- end }}
{{- end }}
{{- end }}

{{/*
Where a component's pods run, for dict "root" $ "component" <name>: <component>.priorityClassName,
nodeSelector, tolerations, affinity and topologySpreadConstraints. A spread constraint without a
labelSelector counts the component's own pods (its selector labels).
*/}}
{{- define "tp.podScheduling" -}}
{{- $values := index .root.Values .component -}}
{{- $selector := include "tp.selectorLabels" . | fromYaml -}}
{{- with $values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  {{- $constraint := deepCopy . }}
  {{- if not (hasKey $constraint "labelSelector") }}
  {{- $_ := set $constraint "labelSelector" (dict "matchLabels" $selector) }}
  {{- end }}
  - {{- toYaml $constraint | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
A component's replicas, for dict "root" $ "component" <name>: the deprecated <component>.replicas
while set (it wins for one release; NOTES.txt asks for the rename), else replicaCount.
*/}}
{{- define "tp.replicas" -}}
{{- $values := index .root.Values .component -}}
{{- if kindIs "invalid" $values.replicas -}}
{{- int $values.replicaCount -}}
{{- else -}}
{{- int $values.replicas -}}
{{- end -}}
{{- end -}}

{{/*
An app image: the registry prefix, the app's repository, its tag or imageTag or appVersion. The
registry is global.imageRegistry, or the deprecated imageRegistry while set (it wins for one
release; NOTES.txt asks for the rename).
*/}}
{{- define "tp.image" -}}
{{- $root := .root -}}
{{- $repository := .image.repository -}}
{{- with include "tp.imageRegistry" $root -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository -}}
{{- end -}}
{{- $tag := .image.tag | default $root.Values.imageTag | default $root.Chart.AppVersion -}}
{{- if hasPrefix "sha256:" $tag -}}
{{- printf "%s@%s" $repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "tp.imageRegistry" -}}
{{- .Values.imageRegistry | default (dig "imageRegistry" "" (.Values.global | default dict)) -}}
{{- end -}}

{{/* An app image's pull policy, for dict "root" $ "image" <its values>: its own or imagePullPolicy. */}}
{{- define "tp.imagePullPolicy" -}}
{{- .image.pullPolicy | default .root.Values.imagePullPolicy -}}
{{- end -}}

{{/* An infrastructure image (Redpanda, PostgreSQL): repository and tag as given. */}}
{{- define "tp.infraImage" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* The migration command's image values: migrations.image, or the processor's without a repository. */}}
{{- define "tp.migrationsImage" -}}
{{- $image := .Values.processor.image -}}
{{- if .Values.migrations.image.repository -}}
{{- $image = .Values.migrations.image -}}
{{- end -}}
{{- toJson $image -}}
{{- end -}}

{{/* The pod security context; dict "root" $ "user" <uid> runs an image's own user instead. */}}
{{- define "tp.podSecurityContext" -}}
{{- if hasKey . "root" -}}
{{- $id := int .user -}}
{{- toYaml (merge (dict "runAsUser" $id "runAsGroup" $id "fsGroup" $id) (deepCopy .root.Values.podSecurityContext)) -}}
{{- else -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}
{{- end -}}

{{- define "tp.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{- define "tp.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Kafka bootstrap servers: the in-release Redpanda or the external brokers. */}}
{{- define "tp.kafkaBrokers" -}}
{{- if .Values.redpanda.enabled -}}
{{- printf "%s.%s.svc.cluster.local:9092" (include "tp.name" (dict "root" . "component" "redpanda")) .Release.Namespace -}}
{{- else -}}
{{- required "kafka.brokers is required when redpanda.enabled is false" .Values.kafka.brokers -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding DATABASE_URL. */}}
{{- define "tp.databaseSecretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "tp.name" (dict "root" . "component" "postgresql") -}}
{{- else if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- include "tp.name" (dict "root" . "component" "database") -}}
{{- end -}}
{{- end -}}

{{- define "tp.databaseSecretKey" -}}
{{- if and (not .Values.postgresql.enabled) .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKey -}}
{{- else -}}
DATABASE_URL
{{- end -}}
{{- end -}}

{{/*
DATABASE_URL for the apps. With postgresql.auth.existingSecret the chart never sees the password:
the URL carries none, and the client (postgres.js) takes it from PGPASSWORD.
*/}}
{{- define "tp.databaseUrlEnv" -}}
{{- $auth := .Values.postgresql.auth -}}
{{- if and .Values.postgresql.enabled $auth.existingSecret -}}
- name: DATABASE_URL
  value: {{ include "tp.postgresqlUrl" (dict "root" . "password" "") | quote }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $auth.existingSecret }}
      key: {{ $auth.existingSecretKey }}
{{- else -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "tp.databaseSecretName" . }}
      key: {{ include "tp.databaseSecretKey" . }}
{{- end -}}
{{- end -}}

{{/* The in-release PostgreSQL's URL; called with dict "root" $ "password" <password or "">. */}}
{{- define "tp.postgresqlUrl" -}}
{{- $root := .root -}}
{{- $auth := $root.Values.postgresql.auth -}}
{{- $host := printf "%s.%s.svc.cluster.local" (include "tp.name" (dict "root" $root "component" "postgresql")) $root.Release.Namespace -}}
{{- $user := urlquery $auth.username -}}
{{- if .password -}}
{{- $user = printf "%s:%s" $user (urlquery .password) -}}
{{- end -}}
{{- printf "postgres://%s@%s:5432/%s" $user $host $auth.database -}}
{{- end -}}

{{/* Environment every app shares; called with dict "root" $ "app" <name>. */}}
{{- define "tp.commonEnv" -}}
{{- $root := .root -}}
- name: LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: KAFKA_BROKERS
  value: {{ include "tp.kafkaBrokers" $root | quote }}
{{- with $root.Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ $.app | quote }}
{{- end }}
{{- end -}}

{{/* Extra variables from a values map, sorted by name so renders are stable. */}}
{{- define "tp.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
The migration command as a container (the hook Job and the init containers share it).
Called with dict "root" $ and optionally "secretName" (a Secret with DATABASE_URL).
*/}}
{{- define "tp.migrateContainer" -}}
{{- $root := .root -}}
- name: migrate
  {{- $image := dict "root" $root "image" (include "tp.migrationsImage" $root | fromJson) }}
  image: {{ include "tp.image" $image }}
  imagePullPolicy: {{ include "tp.imagePullPolicy" $image }}
  command: ["node", "apps/shared/src/bin/migrate.ts"]
  env:
    - name: LOG_LEVEL
      value: {{ $root.Values.logLevel | quote }}
    {{- if .secretName }}
    - name: DATABASE_URL
      valueFrom:
        secretKeyRef:
          name: {{ .secretName }}
          key: DATABASE_URL
    {{- else }}
    {{- include "tp.databaseUrlEnv" $root | nindent 4 }}
    {{- end }}
  securityContext:
    {{- include "tp.containerSecurityContext" $root | nindent 4 }}
  resources:
    {{- toYaml $root.Values.migrations.resources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* The in-release PostgreSQL only exists after pre-install hooks: its pods migrate themselves. */}}
{{- define "tp.migrateInPods" -}}
{{- if and .Values.migrations.enabled .Values.postgresql.enabled -}}true{{- end -}}
{{- end -}}

{{/* How the processor scales: keda, hpa or fixed (auto resolved against the cluster's APIs). */}}
{{- define "tp.processorScaling" -}}
{{- $mode := .Values.processor.autoscaling.mode -}}
{{- if eq $mode "auto" -}}
{{- if .Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject" -}}keda{{- else -}}fixed{{- end -}}
{{- else -}}
{{- $mode -}}
{{- end -}}
{{- end -}}

{{- define "tp.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{/* The namespace the operator watches: "" means every namespace. */}}
{{- define "tp.operatorWatchNamespace" -}}
{{- if .Values.operator.watchAllNamespaces -}}
{{- else -}}
{{- .Values.operator.watchNamespace | default .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/*
The operator's permissions where Sites live, as apps/operator uses them: Sites through an
informer, their status by merge patch, their finalizers (owner references that block deletion),
Deployments through an informer and server-side apply,
Events (events.k8s.io/v1), and (only with imagePullSecrets) a check that those Secrets exist.
*/}}
{{- define "tp.operatorRules" -}}
- apiGroups: [telemetrypulse.io]
  resources: [sites]
  verbs: [list, watch]
- apiGroups: [telemetrypulse.io]
  resources: [sites/status]
  verbs: [patch]
# The Deployments' owner references block the Site's deletion: with the
# OwnerReferencesPermissionEnforcement admission plugin that takes update on the finalizers.
- apiGroups: [telemetrypulse.io]
  resources: [sites/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list, watch, create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- with include "tp.imagePullSecretNames" . }}
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [{{ . }}]
  verbs: [get]
{{- end }}
{{- end -}}

{{/* imagePullSecrets as comma-separated names, for the simulators the operator makes. */}}
{{- define "tp.imagePullSecretNames" -}}
{{- $names := list -}}
{{- range .Values.imagePullSecrets -}}
{{- $names = append $names .name -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{/*
PostgreSQL connections the release's apps may hold at once, at full scale-out: every pod's pool
(DATABASE_POOL_SIZE: database.poolSize, or a component's env; the operator's own default is 2)
times the most pods of its Deployment, including a rolling update's surge (the Deployments'
default maxSurge, 25% rounded up), plus the pre-upgrade migration Job (2). The processor counts
at autoscaling.maxReplicas (keda, hpa, and auto, which turns into KEDA whenever the cluster has
it) or processor.replicaCount (fixed). The migrate init containers (2 connections) finish before
their pod's pool opens: they count within that pod's share.
*/}}
{{- define "tp.databaseConnections" -}}
{{- $v := .Values -}}
{{- $init := ternary 2 0 (eq (include "tp.migrateInPods" .) "true") -}}
{{- $scaling := $v.processor.autoscaling -}}
{{- $processors := int $scaling.maxReplicas -}}
{{- if eq $scaling.mode "fixed" -}}
{{- $processors = int (include "tp.replicas" (dict "root" . "component" "processor")) -}}
{{- else if eq $scaling.mode "auto" -}}
{{- $processors = max $processors (int (include "tp.replicas" (dict "root" . "component" "processor"))) | int -}}
{{- end -}}
{{- $total := 0 -}}
{{- range $deployment := list
  (dict "pods" $processors "pool" (index $v.processor.env "DATABASE_POOL_SIZE" | default $v.database.poolSize) "init" $init)
  (dict "pods" (int (include "tp.replicas" (dict "root" . "component" "api"))) "pool" (index $v.api.env "DATABASE_POOL_SIZE" | default $v.database.poolSize) "init" $init)
  (dict "pods" (int (include "tp.replicas" (dict "root" . "component" "operator"))) "pool" (index $v.operator.env "DATABASE_POOL_SIZE" | default 2) "init" 0) -}}
{{- $pods := int $deployment.pods -}}
{{- $surge := div (add $pods 3) 4 -}}
{{- $perPod := max (int $deployment.pool) (int $deployment.init) -}}
{{- $total = add $total (mul $perPod (add $pods $surge)) -}}
{{- end -}}
{{- if $v.migrations.enabled -}}
{{- $total = add $total 2 -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
max_connections of the in-release PostgreSQL: postgresql.maxConnections, or the apps' connections
with headroom (a tenth more, and 10 for superuser_reserved_connections and a few psql sessions).
*/}}
{{- define "tp.postgresqlMaxConnections" -}}
{{- $need := int (include "tp.databaseConnections" .) -}}
{{- if .Values.postgresql.maxConnections -}}
{{- int .Values.postgresql.maxConnections -}}
{{- else -}}
{{- add $need (div $need 10) 10 -}}
{{- end -}}
{{- end -}}

{{/*
A NetworkPolicy's ingress rules from a list of dict "port" <n> "from" <peers>; no peers: anyone
may connect to the port. An empty list admits nobody.
*/}}
{{- define "tp.networkPolicyRules" -}}
{{- if . -}}
ingress:
  {{- range . }}
  - ports:
      - port: {{ .port }}
        protocol: TCP
    {{- with .from }}
    from:
      {{- toYaml . | nindent 6 }}
    {{- end }}
  {{- end }}
{{- else -}}
ingress: []
{{- end }}
{{- end -}}

{{/*
Egress rules from a list of dict "ports" (list of dict "port" <n> ["protocol" UDP]) "peers"
<peers>; no peers: any address on those ports. An empty list lets the pod connect nowhere.
*/}}
{{- define "tp.networkPolicyEgress" -}}
{{- if . -}}
egress:
  {{- range . }}
  - ports:
      {{- range .ports }}
      - port: {{ .port }}
        protocol: {{ .protocol | default "TCP" }}
      {{- end }}
    {{- with .peers }}
    to:
      {{- toYaml . | nindent 6 }}
    {{- end }}
  {{- end }}
{{- else -}}
egress: []
{{- end }}
{{- end -}}
