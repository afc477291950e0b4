// SPDX-License-Identifier: GPL-2.0
/*
 * modbtf_doc - the out-of-tree module of `modbtf doctor`'s boot test (scripts/e2e-doctor.mjs).
 *
 * The test builds this one source under several module names in one kbuild run (a Kbuild
 * it writes: obj-m := <name>.o ..., <name>.c a copy of this file), for Debian's 6.12.107 and
 * 7.2.13, and loads the modules into 6.12.117 and 7.2.13. Its BTF holds:
 *  - struct modbtf_doc_state, which embeds a struct mutex: 32 bytes in 6.12.107, 24 in
 *    7.2.13, so a .BTF.base distilled over 6.12.107 does not relocate onto 7.2.13
 *    ("distilled base BTF type 'mutex' ... is not mapped to base BTF id");
 *  - with -DMODBTF_DOC_DOLLAR, a member named bad$name: GCC accepts '$' in identifiers,
 *    pahole and libbpf encode it, and the kernel's BTF checks refuse it ("Invalid name").
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/mutex.h>
#include <linux/list.h>

struct modbtf_doc_state {
	struct mutex lock;
	struct list_head items;
	int count;
#ifdef MODBTF_DOC_DOLLAR
	int bad$name;
#endif
};

static struct modbtf_doc_state modbtf_doc_state;

static int __init modbtf_doc_init(void)
{
	mutex_init(&modbtf_doc_state.lock);
	INIT_LIST_HEAD(&modbtf_doc_state.items);
	modbtf_doc_state.count = 1;
	pr_info("%s: loaded (state %zu bytes)\n", KBUILD_MODNAME, sizeof(modbtf_doc_state));
	return 0;
}

static void __exit modbtf_doc_exit(void)
{
}

module_init(modbtf_doc_init);
module_exit(modbtf_doc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modbtf doctor end-to-end test module");
