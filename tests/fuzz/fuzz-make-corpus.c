/* fuzz-make-corpus.c: writes the seed corpus of every harness of
 * tests/fuzz, from libcoffer's own writers and the fixed keys, in each
 * harness's input layout (the mode bytes its header comment describes).
 *
 *   _build-fuzz/tests/fuzz/fuzz-make-corpus tests/fuzz/corpus
 *
 * Nonces are random, so the files differ from one run to the next; what
 * they exercise does not. Inputs that once made a harness fail are kept
 * beside the seeds (named crash-…) and never rewritten.
 */
#include "config.h"

#include "fuzz-common.h"

#include <errno.h>
#include <string.h>

static const char *corpus_dir;

/* Writes @prefix and @bytes as corpus/fuzz-HARNESS/seed-NAME. */
static void
save (const char *harness, const char *name, const guint8 *prefix, gsize prefix_size, GBytes *bytes)
{
  g_autofree char *dir = g_strdup_printf ("%s/fuzz-%s", corpus_dir, harness);
  g_autofree char *file = g_strdup_printf ("%s/seed-%s", dir, name);
  g_autoptr (GByteArray) all = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  g_byte_array_append (all, prefix, prefix_size);
  if (size > 0)
    g_byte_array_append (all, data, size);
  if (g_mkdir_with_parents (dir, 0755) != 0 ||
      !g_file_set_contents (file, (const char *) all->data, all->len, &error))
    g_error ("Cannot write %s: %s", file, error != NULL ? error->message : g_strerror (errno));
}

static void
put_le32 (guint8 *out, guint32 value)
{
  for (guint i = 0; i < 4; i++)
    out[i] = value >> (8 * i);
}

/* Opens what fuzz_seal() or a writer made: @skip bytes, then nonce,
 * ciphertext and tag. */
static GBytes *
unseal (const guint8 key[32], const void *aad, gsize aad_size, GBytes *sealed, gsize skip)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (sealed, &size);
  gsize plain_size = size - skip - COFFER_GCM_NONCE_SIZE - COFFER_GCM_TAG_SIZE;
  guint8 *plain = g_malloc (plain_size + 1);

  if (!coffer_aes_gcm_decrypt (key, data + skip, aad, aad_size, data + skip + COFFER_GCM_NONCE_SIZE,
                               plain_size, data + size - COFFER_GCM_TAG_SIZE, plain))
    g_error ("A seed does not open with the fixed keys");
  return g_bytes_new_take (plain, plain_size);
}

/* A plaintext of @size bytes: text that compresses when @text, else
 * bytes that do not. */
static GBytes *
content (gsize size, gboolean text, guint seed)
{
  guint8 *data = g_malloc (size + 1);
  guint32 state = 2463534242u + seed;

  for (gsize i = 0; i < size; i++)
    {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      data[i] = text ? "coffer fuzz seed "[(i + seed) % 17] : (guint8) state;
    }
  return g_bytes_new_take (data, size);
}

static GBytes *
seal_blob (GBytes *plain, CofferBlobType type, guint8 id[COFFER_BLOB_ID_SIZE])
{
  gsize size;
  const guint8 *data = g_bytes_get_data (plain, &size);

  coffer_blob_id (fuzz_keys (), data, size, id);
  return coffer_blob_seal (fuzz_keys (), id, type, data, size, 3);
}

static void
make_blob (void)
{
  for (guint i = 0; i < 2; i++)
    {
      gboolean text = i == 0;
      g_autoptr (GBytes) plain = content (text ? 600 : 200, text, i);
      g_autoptr (GBytes) blob = NULL;
      g_autoptr (GBytes) payload = NULL;
      g_autofree char *name = g_strdup_printf ("%s", text ? "zstd" : "raw");
      g_autofree char *sealed_name = g_strdup_printf ("%s-payload", name);
      g_autofree char *plain_name = g_strdup_printf ("%s-plain", name);
      guint8 id[COFFER_BLOB_ID_SIZE];
      guint8 key[32];
      guint8 aad[COFFER_BLOB_ID_SIZE + 3];
      guint8 found[6] = { 0, COFFER_BLOB_DATA };
      guint8 sealed[8] = { 1 };
      guint8 round[2] = { 2, COFFER_BLOB_TREE };
      const guint8 *data;

      blob = seal_blob (plain, COFFER_BLOB_DATA, id);
      put_le32 (found + 2, g_bytes_get_size (plain));
      save ("blob", name, found, sizeof found, blob);

      /* The payload, opened with the blob's key and additional data. */
      data = g_bytes_get_data (blob, NULL);
      coffer_hmac_sha256 (fuzz_keys ()->encryption, COFFER_KEY_SIZE, id, sizeof id, key);
      memcpy (aad, id, sizeof id);
      aad[COFFER_BLOB_ID_SIZE] = COFFER_BLOB_DATA;
      aad[COFFER_BLOB_ID_SIZE + 1] = data[0];
      aad[COFFER_BLOB_ID_SIZE + 2] = data[1];
      payload = unseal (key, aad, sizeof aad, blob, 2);
      sealed[1] = data[0];
      sealed[2] = data[1];
      sealed[3] = COFFER_BLOB_DATA;
      put_le32 (sealed + 4, g_bytes_get_size (plain));
      save ("blob", sealed_name, sealed, sizeof sealed, payload);

      save ("blob", plain_name, round, sizeof round, plain);
    }
}

static GBytes *
make_pack (GArray **out_entries, char name[COFFER_PACK_NAME_LENGTH + 1])
{
  g_autoptr (CofferPackWriter) writer =
      coffer_pack_writer_new (fuzz_keys (), COFFER_BLOB_DATA, NULL);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (GBytes) plain = content (40 + 30 * i, i % 2 == 0, i);
      guint8 id[COFFER_BLOB_ID_SIZE];
      g_autoptr (GBytes) blob = seal_blob (plain, COFFER_BLOB_DATA, id);

      coffer_pack_writer_add (writer, id, blob, g_bytes_get_size (plain));
    }
  return coffer_pack_writer_finish (writer, name, out_entries);
}

static void
make_pack_header (void)
{
  g_autoptr (GArray) entries = NULL;
  char name[COFFER_PACK_NAME_LENGTH + 1];
  g_autoptr (GBytes) pack = make_pack (&entries, name);
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GBytes) plain = NULL;
  const CofferPackEntry *last = &g_array_index (entries, CofferPackEntry, entries->len - 1);
  guint32 header_offset = last->offset + last->length;
  gsize size = g_bytes_get_size (pack);
  guint8 found[5] = { 0 };
  guint8 sealed[6] = { 1, 2 };
  guint8 key[32];
  guint8 aad[5];

  save ("pack-header", "whole-pack", found, sizeof found, pack);

  /* The header's plaintext, as fuzz-pack-header seals it again. */
  header = g_bytes_new_from_bytes (pack, header_offset, size - 4 - header_offset);
  fuzz_derive ("coffer-pack-header", key);
  aad[0] = 2;
  put_le32 (aad + 1, header_offset);
  plain = unseal (key, aad, sizeof aad, header, 1);
  put_le32 (sealed + 2, header_offset);
  save ("pack-header", "header-plaintext", sealed, sizeof sealed, plain);
}

static void
make_index (void)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GBytes) plain = NULL;
  GBytes *file;
  guint8 key[32];
  guint8 version = 1;
  guint8 found[1] = { 0 };
  guint8 sealed[2] = { 1, 1 };

  for (guint p = 0; p < 2; p++)
    {
      g_autoptr (GArray) entries = NULL;
      char name[COFFER_PACK_NAME_LENGTH + 1];
      guint8 pack_id[32];

      g_bytes_unref (make_pack (&entries, name));
      if (!coffer_blob_id_from_hex (name, pack_id))
        g_error ("A pack's name is not 64 hex digits");
      coffer_index_add_pack (index, pack_id, entries);
    }
  files = coffer_index_take_pending (index, fuzz_keys ());
  file = g_ptr_array_index (files, 0);
  save ("index", "two-packs", found, sizeof found, file);

  fuzz_derive ("coffer-index", key);
  plain = unseal (key, &version, 1, file, 1);
  save ("index", "two-packs-plaintext", sealed, sizeof sealed, plain);
}

static CofferNode *
new_node (const char *name, CofferNodeType type)
{
  CofferNode *node = coffer_node_new ();

  node->name = g_strdup (name);
  node->type = type;
  node->mode = 0644;
  node->uid = 1000;
  node->gid = 1000;
  node->mtime_ns = G_GINT64_CONSTANT (1795253400000000000);
  node->ctime_ns = node->mtime_ns + 1;
  return node;
}

static void
make_tree (void)
{
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
  g_autoptr (GBytes) tree = NULL;
  g_autoptr (GBytes) value = g_bytes_new_static ("value", 5);
  CofferNode *file, *sparse, *dir, *link, *dev;
  CofferExtent extent = { 4096, 4096 };
  guint8 chunk[COFFER_TREE_ID_SIZE];

  file = new_node ("file.txt", COFFER_NODE_FILE);
  file->size = 10;
  file->user = g_strdup ("user");
  file->group = g_strdup ("group");
  file->chunks = coffer_node_chunks_new ();
  memset (chunk, 0xab, sizeof chunk);
  g_array_append_vals (file->chunks, chunk, 1);
  coffer_node_add_xattr (file, "user.b", value);
  coffer_node_add_xattr (file, "user.a", value);
  file->hardlink_group = 1;
  g_ptr_array_add (nodes, file);

  sparse = new_node ("sparse", COFFER_NODE_FILE);
  sparse->size = 16384;
  sparse->extents = g_array_new (FALSE, FALSE, sizeof (CofferExtent));
  g_array_append_val (sparse->extents, extent);
  sparse->chunks = coffer_node_chunks_new ();
  g_array_append_vals (sparse->chunks, chunk, 1);
  g_ptr_array_add (nodes, sparse);

  dir = new_node ("folder", COFFER_NODE_DIR);
  dir->has_subtree = TRUE;
  memset (dir->subtree, 0xcd, sizeof dir->subtree);
  g_ptr_array_add (nodes, dir);
  g_ptr_array_add (nodes, new_node ("unread", COFFER_NODE_DIR));

  link = new_node ("link", COFFER_NODE_SYMLINK);
  link->link_target = g_strdup ("file.txt");
  link->size = strlen (link->link_target);
  g_ptr_array_add (nodes, link);
  g_ptr_array_add (nodes, new_node ("fifo", COFFER_NODE_FIFO));
  dev = new_node ("tty", COFFER_NODE_CHARDEV);
  dev->rdev = 0x0501;
  g_ptr_array_add (nodes, dev);
  dev = new_node ("sda", COFFER_NODE_BLOCKDEV);
  dev->rdev = 0x0800;
  g_ptr_array_add (nodes, dev);
  {
    CofferNode *empty = new_node ("empty", COFFER_NODE_FILE);

    empty->chunks = coffer_node_chunks_new ();
    g_ptr_array_add (nodes, empty);
  }

  tree = coffer_tree_serialize (nodes);
  save ("tree", "every-type", NULL, 0, tree);
}

static CofferVault *
memory_vault (CofferStore **out_store)
{
  g_autoptr (GBytes) vault_json = fuzz_vault_json ();
  g_autoptr (GError) error = NULL;
  CofferVault *vault;

  *out_store = fuzz_memory_store_new ();
  fuzz_memory_store_set (*out_store, "vault.json", vault_json);
  vault = coffer_vault_open (*out_store, FUZZ_VAULT_ID, NULL, &error);
  g_assert_no_error (error);
  return vault;
}

static GBytes *
stored (CofferStore *store, const char *name)
{
  g_autoptr (GError) error = NULL;
  GBytes *bytes = coffer_store_get_sync (store, name, 0, -1, NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

static void
make_vault_json (void)
{
  g_autoptr (CofferStore) store = fuzz_memory_store_new ();
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GBytes) json = NULL;
  g_autoptr (GError) error = NULL;
  guint8 any = 0, expect = 1;

  vault = coffer_vault_create (store, "fuzz-vault", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  json = stored (store, "vault.json");
  save ("vault-json", "created", &any, 1, json);
  g_clear_pointer (&json, g_bytes_unref);
  json = fuzz_vault_json ();
  save ("vault-json", "fixed-id", &expect, 1, json);
}

static void
make_machine_json (void)
{
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (CofferVault) vault = memory_vault (&store);
  g_autoptr (CofferMachineInfo) info = g_new0 (CofferMachineInfo, 1);
  g_autoptr (GBytes) json = NULL;
  g_autoptr (GError) error = NULL;

  info->id = g_strdup (FUZZ_MACHINE_ID);
  info->name = g_strdup ("fuzz");
  info->host = g_strdup ("host");
  info->os = g_strdup ("Debian GNU/Linux 12 (bookworm)");
  info->agent_version = g_strdup (PACKAGE_VERSION);
  info->instance_id = g_strdup ("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0");
  info->registered_at = 1795253400;
  if (!coffer_vault_put_machine (vault, info, TRUE, NULL, &error))
    g_error ("%s", error->message);
  json = stored (store, "machines/" FUZZ_MACHINE_ID "/machine.json");
  save ("machine-json", "registered", NULL, 0, json);
}

static void
make_credentials (void)
{
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (CofferVault) vault = memory_vault (&store);
  g_autoptr (JsonObject) local = coffer_store_descriptor_new_local ("/srv/vault");
  g_autoptr (JsonObject) azure = coffer_store_descriptor_new_azure (
      "https://account.blob.core.windows.net", "account", "container", COFFER_AZURE_AUTH_SHARED_KEY,
      "a2V5IGtleSBrZXkga2V5IGtleSBrZXk=");
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *secret = NULL;
  g_autofree char *secret_hash = NULL;
  g_autofree char *current = NULL;
  g_autoptr (GBytes) current_bytes = NULL;
  gsize secret_size;
  guint8 mode = 0;

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (GBytes) file =
          coffer_vault_issue_credentials (vault, i == 0 ? local : azure, 1795253400, NULL, &error);
      g_autoptr (GBytes) body = NULL;
      const char *data;
      const char *mac;
      gsize size;

      g_assert_no_error (error);
      data = g_bytes_get_data (file, &size);
      mode = 0;
      save ("credentials", i == 0 ? "local" : "azure", &mode, 1, file);
      mac = g_strrstr_len (data, size, "\"mac\"");
      g_assert (mac != NULL);
      body = g_bytes_new (data, mac - data);
      mode = 1;
      save ("credentials", i == 0 ? "local-body" : "azure-body", &mode, 1, body);
    }

  /* A record of the harness's own file: serial 1, its secret. */
  secret = g_base64_decode (FUZZ_SECRET_BASE64, &secret_size);
  secret_hash = coffer_sha256_hex (secret, secret_size);
  current = g_strdup_printf ("{\n"
                             "  \"format\" : 1,\n"
                             "  \"serial\" : 1,\n"
                             "  \"secret_sha256\" : \"%s\",\n"
                             "  \"issued\" : \"2026-11-21T09:30:00Z\",\n"
                             "  \"expires\" : \"2026-11-23T09:30:00Z\"\n"
                             "}\n",
                             secret_hash);
  current_bytes = g_bytes_new (current, strlen (current));
  mode = 2;
  save ("credentials", "current", &mode, 1, current_bytes);
}

static void
make_point (void)
{
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (CofferVault) vault = memory_vault (&store);
  g_autoptr (CofferSnapshot) snapshot = g_new0 (CofferSnapshot, 1);
  g_autoptr (GBytes) sealed = NULL;
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  guint8 key[32];
  guint8 mode;

  snapshot->time = 1795253400;
  snapshot->on_demand = TRUE;
  snapshot->retain_until = 1795253400 + 86400;
  memset (snapshot->root, 0x5a, sizeof snapshot->root);
  snapshot->items = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (snapshot->items, g_strdup ("/home/user"));
  g_ptr_array_add (snapshot->items, g_strdup ("/etc"));
  snapshot->host = g_strdup ("host");
  snapshot->files = 12;
  snapshot->bytes = 3456;
  if (!coffer_snapshot_put (vault, FUZZ_MACHINE_ID, fuzz_keys (), snapshot, NULL, &error))
    g_error ("%s", error->message);
  name = g_strconcat ("machines/" FUZZ_MACHINE_ID "/snapshots/", snapshot->id, NULL);
  sealed = stored (store, name);
  mode = 0;
  save ("point", "on-demand", &mode, 1, sealed);

  fuzz_derive ("snapshot", key);
  plain = unseal (key, "coffer-snapshot-v1", strlen ("coffer-snapshot-v1"), sealed, 0);
  mode = 1;
  save ("point", "on-demand-json", &mode, 1, plain);
}

static void
make_key_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) file = coffer_master_keys_wrap (fuzz_keys (), FUZZ_PASSPHRASE, 1024, &error);

  g_assert_no_error (error);
  save ("key-file", "n-1024", NULL, 0, file);
}

static void
make_machine_config (void)
{
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (CofferVault) vault = memory_vault (&store);
  g_autoptr (GBytes) sealed = NULL;
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GError) error = NULL;
  guint8 key[32];
  guint8 mode;

  if (!coffer_machine_config_put (vault, FUZZ_MACHINE_ID, fuzz_keys (), FALSE, NULL, &error))
    g_error ("%s", error->message);
  sealed = stored (store, "machines/" FUZZ_MACHINE_ID "/config");
  mode = 0;
  save ("machine-config", "written", &mode, 1, sealed);

  fuzz_derive ("config", key);
  plain = unseal (key, "coffer-config-v1", strlen ("coffer-config-v1"), sealed, 0);
  mode = 1;
  save ("machine-config", "written-json", &mode, 1, plain);
}

/* Locks as another machine's job leaves them (lock_json() in
 * coffer-lock.c), shared and exclusive. */
static void
make_lock (void)
{
  for (guint exclusive = 0; exclusive < 2; exclusive++)
    {
      g_autofree char *text = g_strdup_printf ("{\n"
                                               "  \"format\" : 1,\n"
                                               "  \"host\" : \"other-host\",\n"
                                               "  \"pid\" : 4321,\n"
                                               "  \"boot_id\" : "
                                               "\"5b1e9a0c-3d2f-4e6a-8b7c-9d0e1f2a3b4c\",\n"
                                               "  \"instance_id\" : \"other-instance\",\n"
                                               "  \"exclusive\" : %s,\n"
                                               "  \"created\" : \"2026-11-21T09:30:00Z\"\n"
                                               "}\n",
                                               exclusive ? "true" : "false");
      g_autoptr (GBytes) lock = g_bytes_new (text, strlen (text));
      guint8 mode = 0;

      save ("lock", exclusive ? "exclusive" : "shared", &mode, 1, lock);
    }
}

static void
make_chunker (void)
{
  /* avg 2^6 · 2^k, min avg / 2^k, max avg · 2^k, piece size. */
  static const guint8 settings[][4] = {
    { 0, 2, 2, 3 },
    { 2, 1, 1, 0 },
    { 4, 8, 0, 27 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      g_autoptr (GBytes) data = content (3000, i == 1, i);
      g_autofree char *name = g_strdup_printf ("sizes-%u", i);

      save ("chunker", name, settings[i], sizeof settings[i], data);
    }
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      g_printerr ("Usage: %s CORPUS-FOLDER\n", argv[0]);
      return 2;
    }
  corpus_dir = argv[1];
  fuzz_init ();

  make_blob ();
  make_pack_header ();
  make_index ();
  make_tree ();
  make_vault_json ();
  make_machine_json ();
  make_credentials ();
  make_point ();
  make_key_file ();
  make_machine_config ();
  make_lock ();
  make_chunker ();
  return 0;
}
