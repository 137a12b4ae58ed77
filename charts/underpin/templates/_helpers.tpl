{{/* The image of every container: [registry/]repository:tag. Spiderpool's global.imageRegistryOverride wins over image.registry. */}}
{{- define "underpin.image" -}}
{{- $registry := default .Values.image.registry ((.Values.global).imageRegistryOverride) -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The settings file of the ConfigMap underpin-config. */}}
{{- define "underpin.configYaml" -}}
{{- toYaml .Values.config -}}
{{- end -}}

{{/* The certificate mode: tls.method, or Spiderpool's spiderpoolController.tls.method when set. */}}
{{- define "underpin.tlsMethod" -}}
{{- default .Values.tls.method ((.Values.spiderpoolController).tls).method -}}
{{- end -}}

{{- define "underpin.serviceMonitor" -}}
{{- or .Values.metrics.serviceMonitor.enabled .Values.spiderpoolAgent.prometheus.serviceMonitor.install -}}
{{- end -}}

{{- define "underpin.prometheusRule" -}}
{{- or .Values.metrics.prometheusRule.enabled .Values.spiderpoolAgent.prometheus.prometheusRule.install -}}
{{- end -}}

{{- define "underpin.grafanaDashboard" -}}
{{- .Values.grafanaDashboard.install -}}
{{- end -}}
