/* coffer.h: everything libcoffer offers, for the agent and the CLI. */
#pragma once

#include "coffer-catalog.h"
#include "coffer-chunker.h"
#include "coffer-credentials.h"
#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-keys.h"
#include "coffer-local-store.h"
#include "coffer-paths.h"
#include "coffer-policy.h"
#include "coffer-registration.h"
#include "coffer-secret.h"
#include "coffer-store.h"
#include "coffer-vault.h"
#include "coffer-dbus-generated.h"
