/* azure-put-ceiling: the raw Put Blob rate of an Azure endpoint, the ceiling
 * a backup to it is measured against.
 *
 *   azure-put-ceiling ENDPOINT ACCOUNT KEY-FILE CONTAINER COUNT CONCURRENCY
 *
 * Puts COUNT objects of 16 MiB of random bytes, CONCURRENCY at a time, each a
 * single-shot Put Blob with Content-MD5 (the Azure store's put, with nothing
 * of the backup engine: no chunking, compression or encryption). The bytes
 * are made before the clock starts. Prints "BYTES SECONDS" on stdout.
 */
#include "config.h"

#include "coffer.h"

#include <stdlib.h>

#define OBJECT_SIZE (16 * 1024 * 1024)

typedef struct
{
  CofferStore *store;
  GPtrArray *objects;
  gint next;
  gint failed;
} Run;

static gpointer
put_thread (gpointer user_data)
{
  Run *run = user_data;
  gint i;

  while ((i = g_atomic_int_add (&run->next, 1)) < (gint) run->objects->len)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("ceiling/%04d", i);

      if (!coffer_store_put_sync (run->store, name, g_ptr_array_index (run->objects, i),
                                  COFFER_PUT_ALWAYS, NULL, NULL, NULL, &error))
        {
          g_printerr ("%s: %s\n", name, error->message);
          g_atomic_int_set (&run->failed, 1);
        }
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  g_autoptr (CofferAzureConfig) config = g_new0 (CofferAzureConfig, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  g_autofree char *key = NULL;
  Run run = { 0 };
  guint count, concurrency;
  gint64 start, end;

  if (argc != 7)
    {
      g_printerr ("Usage: %s ENDPOINT ACCOUNT KEY-FILE CONTAINER COUNT CONCURRENCY\n", argv[0]);
      return 2;
    }
  if (!g_file_get_contents (argv[3], &key, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  count = (guint) atoi (argv[5]);
  concurrency = (guint) atoi (argv[6]);

  config->endpoint = g_strdup (argv[1]);
  config->account = g_strdup (argv[2]);
  config->container = g_strdup (argv[4]);
  config->auth = COFFER_AZURE_AUTH_SHARED_KEY;
  config->secret = g_strdup (g_strstrip (key));
  config->concurrency = concurrency;
  config->proxy = coffer_proxy_config_new (); /* none */
  run.store = coffer_azure_store_new (config, &error);
  if (run.store == NULL ||
      !coffer_azure_store_create_container (COFFER_AZURE_STORE (run.store), NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  run.objects = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < count; i++)
    {
      guint8 *data = g_malloc (OBJECT_SIZE);

      coffer_random_bytes (data, OBJECT_SIZE);
      g_ptr_array_add (run.objects, g_bytes_new_take (data, OBJECT_SIZE));
    }

  start = g_get_monotonic_time ();
  for (guint i = 0; i < concurrency; i++)
    g_ptr_array_add (threads, g_thread_new ("put", put_thread, &run));
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  end = g_get_monotonic_time ();

  g_ptr_array_unref (run.objects);
  g_object_unref (run.store);
  if (run.failed)
    return 1;
  g_print ("%" G_GUINT64_FORMAT " %.3f\n", (guint64) count * OBJECT_SIZE,
           (double) (end - start) / G_USEC_PER_SEC);
  return 0;
}
