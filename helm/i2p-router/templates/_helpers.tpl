{{- define "i2p-router.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "i2p-router.fullname" -}}
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

{{- define "i2p-router.selectorLabels" -}}
app.kubernetes.io/name: {{ include "i2p-router.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "i2p-router.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "i2p-router.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "i2p-router.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "i2p-router.checkMode" -}}
{{- if not (has .Values.mode (list "standalone" "sidecar")) -}}
{{- fail (printf "mode must be standalone or sidecar, not %q" .Values.mode) -}}
{{- end -}}
{{- end -}}

{{/*
The router's config.yaml: the chart's listeners and ports, the user's `config` merged over them,
and `tunnels` (server tunnels read their keys from the Secret when keys.existingSecret is set).
*/}}
{{- define "i2p-router.config" -}}
{{- $p := .Values.ports -}}
{{- $listen := ternary "0.0.0.0" "127.0.0.1" (eq .Values.mode "standalone") -}}
{{- $base := dict
  "ntcp2" (dict "port" $p.ntcp2 "bind" "0.0.0.0")
  "http_proxy" (dict "host" $listen "port" $p.httpProxy)
  "socks_proxy" (dict "host" $listen "port" $p.socks)
  "sam" (dict "host" $listen "port" $p.sam "udp_port" $p.samUdp)
  "dns" (dict "host" $listen "port" $p.dns)
  "ops" (dict "host" "0.0.0.0" "port" $p.ops)
-}}
{{- $cfg := mustMergeOverwrite $base (deepCopy (default (dict) .Values.config)) -}}
{{- $tunnels := list -}}
{{- range .Values.tunnels -}}
{{- $t := deepCopy . -}}
{{- if not $t.name -}}{{- fail "every entry of tunnels needs a name" -}}{{- end -}}
{{- if and $.Values.keys.existingSecret (has (default "" $t.type) (list "server" "http" "irc")) (not (hasKey $t "keys")) -}}
{{- $_ := set $t "keys" (printf "/etc/i2p-router-keys/%s.dat" $t.name) -}}
{{- end -}}
{{- $tunnels = append $tunnels $t -}}
{{- end -}}
{{- $_ := set $cfg "tunnels" $tunnels -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* the router container (standalone: a container; sidecar: a restartPolicy Always init container) */}}
{{- define "i2p-router.container" -}}
name: i2p-router
image: {{ include "i2p-router.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
{{- if eq .Values.mode "sidecar" }}
restartPolicy: Always
{{- end }}
{{- with .Values.env }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
ports:
  - {name: ntcp2, containerPort: {{ .Values.ports.ntcp2 }}, protocol: TCP}
  - {name: ops, containerPort: {{ .Values.ports.ops }}, protocol: TCP}
  {{- if eq .Values.mode "standalone" }}
  - {name: http-proxy, containerPort: {{ .Values.ports.httpProxy }}, protocol: TCP}
  - {name: socks, containerPort: {{ .Values.ports.socks }}, protocol: TCP}
  - {name: sam, containerPort: {{ .Values.ports.sam }}, protocol: TCP}
  - {name: sam-udp, containerPort: {{ .Values.ports.samUdp }}, protocol: UDP}
  - {name: dns-udp, containerPort: {{ .Values.ports.dns }}, protocol: UDP}
  - {name: dns-tcp, containerPort: {{ .Values.ports.dns }}, protocol: TCP}
  {{- end }}
startupProbe:
  httpGet: {path: {{ .Values.probes.startup.path }}, port: ops}
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
livenessProbe:
  httpGet: {path: {{ .Values.probes.liveness.path }}, port: ops}
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
readinessProbe:
  httpGet: {path: {{ .Values.probes.readiness.path }}, port: ops}
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
volumeMounts:
  - {name: data, mountPath: /data}
  - {name: config, mountPath: /etc/i2p-router, readOnly: true}
  {{- if .Values.keys.existingSecret }}
  - {name: keys, mountPath: /etc/i2p-router-keys, readOnly: true}
  {{- if .Values.keys.routerIdentity }}
  - {name: keys, mountPath: /data/router.keys, subPath: router.keys, readOnly: true}
  - {name: keys, mountPath: /data/ntcp2.keys, subPath: ntcp2.keys, readOnly: true}
  {{- end }}
  {{- end }}
{{- end -}}

{{/* pod volumes of the router (the data volume comes from the workload) */}}
{{- define "i2p-router.volumes" -}}
- name: config
  configMap:
    name: {{ include "i2p-router.fullname" . }}
{{- if .Values.keys.existingSecret }}
- name: keys
  secret:
    secretName: {{ .Values.keys.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "i2p-router.podMeta" -}}
labels:
  {{- include "i2p-router.selectorLabels" . | nindent 2 }}
  {{- with .Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ include "i2p-router.config" . | sha256sum }}
  {{- with .Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{- define "i2p-router.podCommon" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
