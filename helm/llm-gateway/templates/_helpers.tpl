{{/*
Helpers. Kept to names, labels, secret references and the pod-level settings every
gateway pod shares, so the manifests read as plain Kubernetes.
*/}}

{{/* Release-scoped base name, at most 63 characters. */}}
{{- define "llm-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<suffix>", the fullname shortened so the whole stays a DNS label. dict: ctx, suffix */}}
{{- define "llm-gateway.name" -}}
{{- $base := include "llm-gateway.fullname" .ctx | trunc (int (sub 62 (len .suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base .suffix -}}
{{- end -}}

{{/* Selector labels of one component. dict: ctx, component */}}
{{- define "llm-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ default .ctx.Chart.Name .ctx.Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component. dict: ctx, component */}}
{{- define "llm-gateway.labels" -}}
{{ include "llm-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "llm-gateway.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
The Secret one entry of .Values.secrets is read from: the entry's own `secret`, else
secrets.existingSecret, else the development Secret when enabled. dict: ctx, entry
*/}}
{{- define "llm-gateway.secretName" -}}
{{- $s := .ctx.Values.secrets -}}
{{- $ref := index $s .entry -}}
{{- if $ref.secret -}}
{{- $ref.secret -}}
{{- else if $s.existingSecret -}}
{{- $s.existingSecret -}}
{{- else if $s.development.create -}}
{{- include "llm-gateway.name" (dict "ctx" .ctx "suffix" "dev") -}}
{{- else -}}
{{- fail (printf "secrets.%s: set secrets.existingSecret (or secrets.%s.secret) to a Secret you manage; secrets.development.create is for development only" .entry .entry) -}}
{{- end -}}
{{- end -}}

{{/* One env entry read from a Secret. dict: ctx, entry, env */}}
{{- define "llm-gateway.secretEnv" -}}
{{- $ref := index .ctx.Values.secrets .entry -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ include "llm-gateway.secretName" . }}
      key: {{ $ref.key }}
      {{- if index $ref "optional" }}{{/* only adminKey has the key: index, not .optional, for lint --strict */}}
      optional: true
      {{- end }}
{{- end -}}

{{/* Extra env entries from a name -> value map (sorted by name). */}}
{{- define "llm-gateway.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end -}}
{{- end -}}

{{/* Pod security context of the gateway image (its "node" user, 1000). */}}
{{- define "llm-gateway.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container security context shared by every container of the chart. */}}
{{- define "llm-gateway.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Scheduling settings of one component's values: nodeSelector, tolerations, affinity, spread. */}}
{{- define "llm-gateway.placement" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod-level settings every gateway pod shares. */}}
{{- define "llm-gateway.podCommon" -}}
{{- if .Values.serviceAccountName }}
serviceAccountName: {{ .Values.serviceAccountName }}
{{- end }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- include "llm-gateway.podSecurityContext" . | nindent 2 }}
{{- end -}}
