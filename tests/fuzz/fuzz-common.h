/* fuzz-common.h: what the libFuzzer harnesses of tests/fuzz share — fixed
 * keys, sealing with them, reading a harness's input, and a vault held in
 * memory. */
#pragma once

#include <glib.h>

#include "coffer.h"
#include "coffer-json-util.h"

G_BEGIN_DECLS

/* The harnesses' entry points, called by libFuzzer's main. */
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* The vault.json and machine id every store-backed harness uses. */
#define FUZZ_VAULT_ID "6f1c2a3e-8d4b-4f6a-9c1e-2b3d4e5f6a7b"
#define FUZZ_MACHINE_ID "0123456789abcdef0123456789abcdef"
/* The passphrase of the key file in the seed corpus. */
#define FUZZ_PASSPHRASE "fuzz passphrase, fixed"
/* The registration secret of the credentials files the harness makes:
 * bytes 0 to 31. */
#define FUZZ_SECRET_BASE64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

void fuzz_init (void);
const CofferMasterKeys *fuzz_keys (void);
void fuzz_derive (const char *label, guint8 key[32]);
GBytes *fuzz_seal (const guint8 key[32],
                   const void *aad,
                   gsize aad_size,
                   const guint8 *prefix,
                   gsize prefix_size,
                   const guint8 *plain,
                   gsize size);
GBytes *fuzz_vault_json (void);

/**
 * FuzzInput:
 * @data: the bytes not read yet
 * @left: how many
 *
 * A harness's input, read from the front: a few bytes that choose what to
 * do, then the document itself. Reading past the end gives zeros.
 */
typedef struct
{
  const guint8 *data;
  gsize left;
} FuzzInput;

guint8 fuzz_take_u8 (FuzzInput *input);
guint32 fuzz_take_u32 (FuzzInput *input);
GBytes *fuzz_take_rest (FuzzInput *input);

CofferStore *fuzz_memory_store_new (void);
void fuzz_memory_store_set (CofferStore *store, const char *name, GBytes *bytes);

G_END_DECLS
