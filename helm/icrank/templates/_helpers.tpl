{{/*
Expand the name of the chart.
*/}}
{{- define "icrank.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "icrank.fullname" -}}
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

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "icrank.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "icrank.labels" -}}
helm.sh/chart: {{ include "icrank.chart" . }}
{{ include "icrank.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: icrank
{{- end }}

{{/*
Selector labels
*/}}
{{- define "icrank.selectorLabels" -}}
app.kubernetes.io/name: {{ include "icrank.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "icrank.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "icrank.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Names of the components' resources.
*/}}
{{- define "icrank.schedulerName" -}}
{{- printf "%s-scheduler" (include "icrank.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "icrank.workerName" -}}
{{- printf "%s-worker" (include "icrank.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "icrank.configMapName" -}}
{{- printf "%s-config" (include "icrank.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A CronJob's name must leave room for the 11-character suffix of its Jobs. */}}
{{- define "icrank.cronJobName" -}}
{{- printf "%s-run" (include "icrank.fullname" .) | trunc 52 | trimSuffix "-" }}
{{- end }}

{{/*
Address of the Dask scheduler, as workers and the job dial it: tcp://<scheduler Service>:<comm port>.
*/}}
{{- define "icrank.schedulerAddress" -}}
{{- printf "tcp://%s:%d" (include "icrank.schedulerName" .) (int .Values.scheduler.ports.comm) }}
{{- end }}

{{/*
The one image of the scheduler, the workers and the job: repository@digest, or repository:tag
(tag defaults to the chart's appVersion).
*/}}
{{- define "icrank.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Fields shared by every pod spec: service account, pull secrets, hardened pod security context
and the scratch emptyDir (the root filesystem is read-only).
*/}}
{{- define "icrank.podSpecCommon" -}}
serviceAccountName: {{ include "icrank.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{- define "icrank.scratchVolume" -}}
{{- $emptyDir := dict }}
{{- with .Values.scratch.medium }}{{ $_ := set $emptyDir "medium" . }}{{ end }}
{{- with .Values.scratch.sizeLimit }}{{ $_ := set $emptyDir "sizeLimit" (toString .) }}{{ end }}
- name: scratch
  emptyDir: {{- if $emptyDir }}{{ toYaml $emptyDir | nindent 4 }}{{ else }} {}{{ end }}
{{- end }}

{{- define "icrank.scratchVolumeMount" -}}
- name: scratch
  mountPath: {{ .Values.scratch.mountPath }}
{{- end }}

{{/*
Environment of every container: every path Python, Dask, Matplotlib and Numba write to lies on
the scratch emptyDir.
*/}}
{{- define "icrank.scratchEnv" -}}
{{- $root := .Values.scratch.mountPath -}}
- name: HOME
  value: {{ printf "%s/home" $root | quote }}
- name: TMPDIR
  value: {{ $root | quote }}
- name: DASK_TEMPORARY_DIRECTORY
  value: {{ printf "%s/dask" $root | quote }}
- name: MPLCONFIGDIR
  value: {{ printf "%s/matplotlib" $root | quote }}
- name: NUMBA_CACHE_DIR
  value: {{ printf "%s/numba" $root | quote }}
{{- end }}

{{/*
S3 credentials from an existing Secret, plus endpoint and region.
*/}}
{{- define "icrank.s3Env" -}}
{{- with .Values.s3.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.s3.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.s3.secretAccessKeyKey }}
{{- end }}
{{- with .Values.s3.endpointUrl }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.s3.region }}
- name: AWS_DEFAULT_REGION
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Pod labels of a component: selector labels + component, then the user's pod labels.
Call with (dict "root" $ "component" "scheduler").
*/}}
{{- define "icrank.podLabels" -}}
{{ include "icrank.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .root.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "icrank.componentSelectorLabels" -}}
{{ include "icrank.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
