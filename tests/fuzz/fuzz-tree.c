/* fuzz-tree.c: libFuzzer harness of coffer_tree_parse() (FORMAT.md, "Tree").
 *
 * Input: a tree's plaintext (the blob around it has its own harness,
 * fuzz-blob). A tree that parses must be written back by
 * coffer_tree_serialize() byte for byte, as the format promises: the writer
 * asserts every rule, so a tree the reader wrongly accepts aborts there.
 */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  FuzzInput input = { data, size };
  g_autoptr (GBytes) tree = fuzz_take_rest (&input);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) nodes = coffer_tree_parse (tree, &error);
  g_autoptr (GBytes) again = NULL;

  g_assert ((nodes == NULL) != (error == NULL));
  if (nodes == NULL)
    return 0;

  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);

      g_assert (coffer_tree_name_is_valid (node->name, strlen (node->name)));
      g_assert ((node->chunks != NULL) == (node->type == COFFER_NODE_FILE));
    }
  again = coffer_tree_serialize (nodes);
  if (!g_bytes_equal (again, tree))
    g_error ("A tree that parses is not written back byte for byte");
  return 0;
}
