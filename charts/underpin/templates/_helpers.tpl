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

{{- /* The webhook's certificate (tls.method): auto = the controller's own, kept in Secret
underpin-webhook-tls and injected into the webhook configurations; certmanager and
provided = a kubernetes.io/tls Secret mounted into the webhook, whose CA reaches the
configurations by cert-manager's cainjector or from the values. */ -}}
{{- define "underpin.mountedCertSecret" -}}underpin-webhook-mounted-tls{{- end -}}
{{- define "underpin.mountedCertDir" -}}/var/run/underpin/mounted-tls{{- end -}}

{{- define "underpin.webhookCertArgs" -}}
{{- if eq (include "underpin.tlsMethod" .) "auto" -}}
- --cert-secret=underpin-webhook-tls
{{- else -}}
- --cert-mounted-dir={{ include "underpin.mountedCertDir" . }}
- --no-inject-ca-bundle
{{- end -}}
{{- end -}}

{{- define "underpin.webhookCertMounts" -}}
{{- if ne (include "underpin.tlsMethod" .) "auto" -}}
- name: mounted-tls
  mountPath: {{ include "underpin.mountedCertDir" . }}
  readOnly: true
{{- end -}}
{{- end -}}

{{- define "underpin.webhookCertVolumes" -}}
{{- if ne (include "underpin.tlsMethod" .) "auto" -}}
- name: mounted-tls
  secret:
    secretName: {{ include "underpin.mountedCertSecret" . }}
{{- end -}}
{{- end -}}

{{- define "underpin.webhookAnnotations" -}}
{{- if eq (include "underpin.tlsMethod" .) "certmanager" -}}
cert-manager.io/inject-ca-from: underpin-system/underpin-webhook
{{- end -}}
{{- end -}}

{{- define "underpin.caBundle" -}}
{{- if eq (include "underpin.tlsMethod" .) "provided" -}}
{{ .Values.tls.provided.ca | b64enc }}
{{- end -}}
{{- end -}}
