/* ctel/ctel.h — the umbrella header: include this one.
 *
 * ctel is an OpenTelemetry SDK for C services. Start with ctel/sdk.h
 * (ctel_sdk_create), then ctel/trace.h (spans) and ctel/propagation.h
 * (W3C headers). See README.md for a quick start.
 */
#ifndef CTEL_CTEL_H
#define CTEL_CTEL_H

#include "common.h"
#include "context.h"
#include "export.h"
#include "otlp.h"
#include "propagation.h"
#include "resource.h"
#include "sdk.h"
#include "trace.h"
#include "value.h"

#endif /* CTEL_CTEL_H */
