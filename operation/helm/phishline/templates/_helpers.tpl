{{/* Names: every object is prefixed by the release's full name. 39 characters at most:
with the longest suffix, -model-service-candidate (the shadow's pods' `app` label), a name
stays within the 63 characters of a label value. */}}
{{- define "phishline.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 39 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 39 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "phishline.modelService" -}}
{{- printf "%s-model-service" (include "phishline.fullname" .) -}}
{{- end -}}

{{- define "phishline.candidate" -}}
{{- printf "%s-model-service-candidate" (include "phishline.fullname" .) -}}
{{- end -}}

{{/* The Service that holds both app variants (the Istio subsets v1/v2). */}}
{{- define "phishline.app" -}}
{{- printf "%s-app" (include "phishline.fullname" .) -}}
{{- end -}}

{{/* One variant's Deployment and Service: call with (list $ "v1"). */}}
{{- define "phishline.appVariant" -}}
{{- printf "%s-app-%s" (include "phishline.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{- define "phishline.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "phishline.fullname" .)) -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "phishline.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: phishline
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Pods of one component of this release (model-service, app): call with (list $ "app"). */}}
{{- define "phishline.componentSelector" -}}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/*
Labels of a workload's pods: call with (dict "root" $ "name" NAME "component" C "version" V
"canonical" SERVICE). `app` is unique per Deployment (Flagger keys its primary on it) and
the mesh's canonical service names the component, so telemetry groups both versions.
*/}}
{{- define "phishline.podLabels" -}}
{{ include "phishline.labels" .root }}
app.kubernetes.io/component: {{ .component }}
app: {{ .name }}
version: {{ .version }}
service.istio.io/canonical-name: {{ .canonical }}
service.istio.io/canonical-revision: {{ .version }}
{{- end -}}

{{- define "phishline.image" -}}
{{- $image := index . 0 -}}
{{- $tag := index . 2 | default $image.tag | default (index . 1).Chart.AppVersion -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end -}}

{{- define "phishline.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "phishline.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod annotations: the checksum of the component's own ConfigMap rolls its pods when it
changes (and only then); scrape hints. Call with (list $ PORT COMPONENT). */}}
{{- define "phishline.podAnnotations" -}}
{{- $root := index . 0 -}}
checksum/config: {{ include (printf "phishline.configMap.%s" (index . 2)) $root | sha256sum }}
{{- if $root.Values.monitoring.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ index . 1 | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- if $root.Values.istio.enabled }}
# The app must not start (nor download its model) before its sidecar can route.
proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}'
{{- end }}
{{- end -}}

{{/* The app's PHISHLINE_SECURE_COOKIES: app.secureCookies when true or false; when empty,
whether every entry point the chart renders serves TLS (a Secure cookie sent over plain
HTTP never comes back, and the variant, user id and CSRF token break with it). */}}
{{- define "phishline.secureCookies" -}}
{{- $explicit := .Values.app.secureCookies -}}
{{- if kindIs "bool" $explicit -}}
{{- $explicit -}}
{{- else -}}
{{- $tls := list -}}
{{- if .Values.istio.enabled -}}
{{- $tls = append $tls (ne .Values.istio.gateway.credentialName "") -}}
{{- end -}}
{{- if .Values.ingress.enabled -}}
{{- $tls = append $tls (ne .Values.ingress.tlsSecretName "") -}}
{{- end -}}
{{- and (gt (len $tls) 0) (not (has false $tls)) -}}
{{- end -}}
{{- end -}}

{{/* Whether Flagger owns the app variants' Services (blue/green). */}}
{{- define "phishline.appBlueGreen" -}}
{{- if and .Values.canary.enabled .Values.canary.app.blueGreen -}}true{{- end -}}
{{- end -}}

{{/* Refuse a PodDisruptionBudget that lets no pod be evicted: minAvailable at or above the
fewest pods the workload runs (the HPA's minReplicas when it scales, else its replicas)
would block every node drain. Call with (list PREFIX VALUES REPLICAS_KEY REPLICAS). */}}
{{- define "phishline.checkDisruptionBudget" -}}
{{- $prefix := index . 0 -}}
{{- $values := index . 1 -}}
{{- $fewest := index . 3 -}}
{{- $source := printf "%s.%s" $prefix (index . 2) -}}
{{- if $values.autoscaling.enabled -}}
{{- $fewest = $values.autoscaling.minReplicas -}}
{{- $source = printf "%s.autoscaling.minReplicas" $prefix -}}
{{- end -}}
{{- $minAvailable := $values.podDisruptionBudget.minAvailable -}}
{{- if ge (int $minAvailable) (int $fewest) -}}
{{- fail (printf "%s.podDisruptionBudget.minAvailable (%v) must be below %s (%v): a budget that lets no pod be evicted blocks every node drain; lower it (0 for a single pod) or run more pods" $prefix $minAvailable $source $fewest) -}}
{{- end -}}
{{- end -}}

{{/* Refuse an autoscaler whose minimum is above its maximum: Kubernetes rejects such a
HorizontalPodAutoscaler only at install, after the chart's other objects were applied.
Call with (list PREFIX AUTOSCALING). */}}
{{- define "phishline.checkAutoscaling" -}}
{{- $prefix := index . 0 -}}
{{- $autoscaling := index . 1 -}}
{{- if and $autoscaling.enabled (gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas)) -}}
{{- fail (printf "%s.autoscaling.minReplicas (%v) must not exceed %s.autoscaling.maxReplicas (%v)" $prefix $autoscaling.minReplicas $prefix $autoscaling.maxReplicas) -}}
{{- end -}}
{{- end -}}
