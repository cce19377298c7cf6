// SPDX-License-Identifier: GPL-2.0
/*
 * leaker: leaks pages on purpose, so page-ownerd's tests have a culprit whose
 * truth is known. Every page it holds is allocated by leaker_leak_pages(),
 * which is never inlined or cloned, so page_owner names it in each stack:
 *
 *   leaker_leak_pages+0x48/0x70 [leaker]
 *   leaker_leak_write+0x6b/0xb0 [leaker]        (or leaker_steady_fn, or
 *   full_proxy_write+0x54/0x80                   the init code at load)
 *
 * debugfs, /sys/kernel/debug/leaker/:
 *   leak    write "N [ORDER [GFP]]": allocate N blocks of 2^ORDER pages
 *           (ORDER defaults to 0) with the gfp mask GFP, hex (defaults to
 *           GFP_KERNEL; __GFP_NOFAIL is refused), and keep them. Stops at the
 *           first failed allocation: what was allocated is kept and the write
 *           fails with ENOMEM.
 *   free    write "N": free the N most recently leaked blocks (fewer if fewer
 *           are held); write "all": free every block.
 *   status  read: one "key value" line each. blocks and pages held now, and
 *           the pages held per source (pages_load, pages_write,
 *           pages_steady); totals since load; alloc_failures; generation,
 *           which changes whenever the held set changes, so a reader that sees
 *           the same generation before and after a dump of page_owner knows
 *           the module held exactly these pages during the dump; the steady
 *           settings and how many times the steady work ran.
 *
 *   decoy   write "ORDER" (defaults to 9, a THP-size block): allocate one
 *           block of 2^ORDER pages through leaker_decoy_alloc() and hold it
 *           until unload (or a write of "free"). One block at a time: a
 *           second write fails with EBUSY. It is not counted in blocks and
 *           pages (status says decoy_pages); a leak detector must not take
 *           one big block for a leak.
 *
 * Module parameters:
 *   leak_on_load  blocks leaked while loading (order leak_order), read-only.
 *                 The caller's frame is in init text, freed after load, so
 *                 page_owner prints it as a raw address.
 *   leak_order    order of the leak_on_load blocks, read-only.
 *   steady_pages  order-0 pages leaked by a delayed work every steady_ms
 *   steady_ms     milliseconds; either one at 0 stops it. Both writable at
 *                 runtime in /sys/module/leaker/parameters/ and take effect
 *                 at once.
 *
 *   churn_pages    order-0 pages allocated by leaker_churn_pages() every
 *   churn_ms       churn_ms milliseconds and freed churn_hold_ms later
 *   churn_hold_ms  (held at most until the next allocation): a cache that
 *                  gives back all it takes. Writable at runtime; any of the
 *                  three at 0 stops it (and frees what it holds). Not
 *                  counted in blocks and pages (status: churn_pages_held,
 *                  churn_runs).
 *
 * Everything held is freed on unload. One mutex serialises writers, the
 * steady work and parameter changes. Pages are chained through page->lru and
 * page->private (order and source), so the module allocates nothing else.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/workqueue.h>

/* Largest order the buddy allocator hands out (the name changed twice). */
#if defined(MAX_PAGE_ORDER)
#define LEAKER_MAX_ORDER	MAX_PAGE_ORDER
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define LEAKER_MAX_ORDER	MAX_ORDER
#else
#define LEAKER_MAX_ORDER	(MAX_ORDER - 1)
#endif

#define LEAKER_MAX_STEADY_PAGES	65536
#define LEAKER_WRITE_MAX	64

/* Who asked for a block: kept in page->private next to the order. */
enum leaker_source {
	LEAKER_SRC_LOAD,
	LEAKER_SRC_WRITE,
	LEAKER_SRC_STEADY,
	LEAKER_NR_SRC,
};

static const char *const leaker_src_names[LEAKER_NR_SRC] = {
	[LEAKER_SRC_LOAD]	= "pages_load",
	[LEAKER_SRC_WRITE]	= "pages_write",
	[LEAKER_SRC_STEADY]	= "pages_steady",
};

#define LEAKER_PRIV(order, src)	((unsigned long)(order) | ((unsigned long)(src) << 8))
#define LEAKER_PRIV_ORDER(priv)	((unsigned int)((priv) & 0xff))
#define LEAKER_PRIV_SRC(priv)	((unsigned int)((priv) >> 8))

static unsigned int leak_on_load;
module_param(leak_on_load, uint, 0444);
MODULE_PARM_DESC(leak_on_load, "blocks to leak at load (order leak_order)");

static unsigned int leak_order;
module_param(leak_order, uint, 0444);
MODULE_PARM_DESC(leak_order, "order of the blocks leaked at load");

static unsigned int steady_pages;
static unsigned int steady_ms;

static unsigned int churn_pages;
static unsigned int churn_ms;
static unsigned int churn_hold_ms;

static DEFINE_MUTEX(leaker_lock);

/* Everything below is protected by leaker_lock. */
static LIST_HEAD(leaker_blocks);	/* held blocks, newest first */
static bool leaker_ready;		/* set after init, cleared at exit */
static unsigned long leaker_nr_blocks;	/* blocks held now */
static unsigned long leaker_nr_pages;	/* pages held now */
static unsigned long leaker_src_pages[LEAKER_NR_SRC];	/* pages held per source */
static unsigned long leaker_leaked_blocks;	/* blocks allocated since load */
static unsigned long leaker_leaked_pages;	/* pages allocated since load */
static unsigned long leaker_freed_blocks;	/* blocks freed since load */
static unsigned long leaker_freed_pages;	/* pages freed since load */
static unsigned long leaker_alloc_failures;	/* allocations that failed */
static unsigned long leaker_generation;	/* bumped on every change of the set */
static unsigned long leaker_steady_runs;	/* times the steady work ran */
static LIST_HEAD(leaker_churn_list);	/* the churn's blocks (order 0) */
static unsigned long leaker_churn_held;	/* pages on it */
static bool leaker_churn_holding;	/* the next churn run frees */
static unsigned long leaker_churn_runs;	/* allocations the churn made */
static struct page *leaker_decoy;	/* the one big block, or NULL */
static unsigned int leaker_decoy_order;

static struct dentry *leaker_dir;

static void leaker_steady_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(leaker_steady_work, leaker_steady_fn);
static void leaker_churn_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(leaker_churn_work, leaker_churn_fn);

/*
 * The function every stack names. noinline and __noclone: a constprop or isra
 * clone would be printed as leaker_leak_pages.constprop.0 and the tests look
 * for the exact name.
 */
static noinline __noclone int leaker_leak_pages(unsigned int nr, unsigned int order,
						gfp_t gfp, enum leaker_source src)
{
	struct page *page;
	unsigned int i;

	lockdep_assert_held(&leaker_lock);

	for (i = 0; i < nr; i++) {
		page = alloc_pages(gfp, order);
		if (!page) {
			leaker_alloc_failures++;
			break;
		}
		set_page_private(page, LEAKER_PRIV(order, src));
		list_add(&page->lru, &leaker_blocks);
		leaker_nr_blocks++;
		leaker_nr_pages += 1UL << order;
		leaker_src_pages[src] += 1UL << order;
		leaker_leaked_blocks++;
		leaker_leaked_pages += 1UL << order;
		cond_resched();
	}
	if (i)
		leaker_generation++;
	return i == nr ? 0 : -ENOMEM;
}

/* Frees up to @nr of the newest blocks; returns how many were freed. */
static unsigned long leaker_free_blocks(unsigned long nr)
{
	unsigned long done = 0, priv;
	unsigned int order;
	struct page *page;

	lockdep_assert_held(&leaker_lock);

	while (done < nr && !list_empty(&leaker_blocks)) {
		page = list_first_entry(&leaker_blocks, struct page, lru);
		list_del(&page->lru);
		priv = page_private(page);
		order = LEAKER_PRIV_ORDER(priv);
		set_page_private(page, 0);
		__free_pages(page, order);
		leaker_nr_blocks--;
		leaker_nr_pages -= 1UL << order;
		leaker_src_pages[LEAKER_PRIV_SRC(priv)] -= 1UL << order;
		leaker_freed_blocks++;
		leaker_freed_pages += 1UL << order;
		done++;
		cond_resched();
	}
	if (done)
		leaker_generation++;
	return done;
}

/* Arms or stops the steady work to match the parameters. */
static void leaker_steady_update(void)
{
	lockdep_assert_held(&leaker_lock);

	if (leaker_ready && steady_pages && steady_ms)
		mod_delayed_work(system_wq, &leaker_steady_work,
				 msecs_to_jiffies(steady_ms));
	else
		cancel_delayed_work(&leaker_steady_work);	/* the fn rechecks */
}

static void leaker_steady_fn(struct work_struct *work)
{
	mutex_lock(&leaker_lock);
	if (leaker_ready && steady_pages && steady_ms) {
		leaker_steady_runs++;
		if (leaker_leak_pages(steady_pages, 0, GFP_KERNEL, LEAKER_SRC_STEADY))
			pr_warn_ratelimited("steady leak: allocation failed\n");
		schedule_delayed_work(&leaker_steady_work,
				      msecs_to_jiffies(steady_ms));
	}
	mutex_unlock(&leaker_lock);
}

/*
 * The churn's own allocator, so its pages have their own stack (a culprit
 * other than leaker_leak_pages). Stops at the first failure.
 */
static noinline __noclone void leaker_churn_pages(unsigned int nr)
{
	struct page *page;
	unsigned int i;

	lockdep_assert_held(&leaker_lock);

	for (i = 0; i < nr; i++) {
		page = alloc_pages(GFP_KERNEL, 0);
		if (!page) {
			leaker_alloc_failures++;
			break;
		}
		list_add(&page->lru, &leaker_churn_list);
		leaker_churn_held++;
	}
}

static void leaker_churn_release(void)
{
	struct page *page, *next;

	lockdep_assert_held(&leaker_lock);

	list_for_each_entry_safe(page, next, &leaker_churn_list, lru) {
		list_del(&page->lru);
		__free_pages(page, 0);
	}
	leaker_churn_held = 0;
	leaker_churn_holding = false;
}

static bool leaker_churn_on(void)
{
	return leaker_ready && churn_pages && churn_ms && churn_hold_ms;
}

/* Allocates, then frees churn_hold_ms later, then waits out the period. */
static void leaker_churn_fn(struct work_struct *work)
{
	unsigned int wait;

	mutex_lock(&leaker_lock);
	if (!leaker_churn_on()) {
		leaker_churn_release();
		mutex_unlock(&leaker_lock);
		return;
	}
	if (leaker_churn_holding) {
		leaker_churn_release();
		wait = churn_ms > churn_hold_ms ? churn_ms - churn_hold_ms : 1;
	} else {
		leaker_churn_pages(churn_pages);
		leaker_churn_holding = true;
		leaker_churn_runs++;
		wait = churn_hold_ms;
	}
	schedule_delayed_work(&leaker_churn_work, msecs_to_jiffies(wait));
	mutex_unlock(&leaker_lock);
}

static void leaker_churn_update(void)
{
	lockdep_assert_held(&leaker_lock);

	/* the work frees what it holds when it finds the churn off */
	if (leaker_ready)
		mod_delayed_work(system_wq, &leaker_churn_work,
				 leaker_churn_on() ? msecs_to_jiffies(churn_ms) : 0);
}

static int leaker_churn_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (kp->arg == &churn_pages && v > LEAKER_MAX_STEADY_PAGES)
		return -EINVAL;

	mutex_lock(&leaker_lock);
	*(unsigned int *)kp->arg = v;
	leaker_churn_update();
	mutex_unlock(&leaker_lock);
	return 0;
}

static const struct kernel_param_ops leaker_churn_param_ops = {
	.set	= leaker_churn_param_set,
	.get	= param_get_uint,
};

module_param_cb(churn_pages, &leaker_churn_param_ops, &churn_pages, 0644);
MODULE_PARM_DESC(churn_pages, "order-0 pages the churn allocates every churn_ms (0: off)");
module_param_cb(churn_ms, &leaker_churn_param_ops, &churn_ms, 0644);
MODULE_PARM_DESC(churn_ms, "period of the churn in ms (0: off)");
module_param_cb(churn_hold_ms, &leaker_churn_param_ops, &churn_hold_ms, 0644);
MODULE_PARM_DESC(churn_hold_ms, "ms the churn holds its pages before freeing them (0: off)");

/* The decoy's own allocator: one block, its own stack. */
static noinline __noclone struct page *leaker_decoy_alloc(unsigned int order)
{
	return alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
}

static int leaker_steady_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (kp->arg == &steady_pages && v > LEAKER_MAX_STEADY_PAGES)
		return -EINVAL;

	mutex_lock(&leaker_lock);
	*(unsigned int *)kp->arg = v;
	leaker_steady_update();
	mutex_unlock(&leaker_lock);
	return 0;
}

static const struct kernel_param_ops leaker_steady_param_ops = {
	.set	= leaker_steady_param_set,
	.get	= param_get_uint,
};

module_param_cb(steady_pages, &leaker_steady_param_ops, &steady_pages, 0644);
MODULE_PARM_DESC(steady_pages, "order-0 pages leaked every steady_ms (0: off)");
module_param_cb(steady_ms, &leaker_steady_param_ops, &steady_ms, 0644);
MODULE_PARM_DESC(steady_ms, "period of the steady leak in ms (0: off)");

/* Copies a short command from user space into @buf, NUL-terminated. */
static int leaker_copy_cmd(char *buf, const char __user *ubuf, size_t len)
{
	if (len == 0 || len >= LEAKER_WRITE_MAX)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	return 0;
}

static ssize_t leaker_leak_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	unsigned int nr, order = 0, gfp_raw = (__force unsigned int)GFP_KERNEL;
	char buf[LEAKER_WRITE_MAX], extra;
	gfp_t gfp;
	int ret;

	ret = leaker_copy_cmd(buf, ubuf, len);
	if (ret)
		return ret;

	ret = sscanf(buf, "%u %u %x %c", &nr, &order, &gfp_raw, &extra);
	if (ret < 1 || ret > 3)
		return -EINVAL;
	gfp = (__force gfp_t)gfp_raw;
	if (order > LEAKER_MAX_ORDER)
		return -EINVAL;
	if ((gfp & ~__GFP_BITS_MASK) || (gfp & __GFP_NOFAIL))
		return -EINVAL;

	mutex_lock(&leaker_lock);
	ret = leaker_leak_pages(nr, order, gfp, LEAKER_SRC_WRITE);
	mutex_unlock(&leaker_lock);
	if (ret) {
		pr_warn("leak %u order %u gfp %#x: allocation failed\n",
			nr, order, gfp_raw);
		return ret;
	}
	return len;
}

static ssize_t leaker_free_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	char buf[LEAKER_WRITE_MAX];
	unsigned long nr;
	int ret;

	ret = leaker_copy_cmd(buf, ubuf, len);
	if (ret)
		return ret;

	if (sysfs_streq(buf, "all"))
		nr = ULONG_MAX;
	else if (kstrtoul(strim(buf), 0, &nr))
		return -EINVAL;

	mutex_lock(&leaker_lock);
	leaker_free_blocks(nr);
	mutex_unlock(&leaker_lock);
	return len;
}

static ssize_t leaker_decoy_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	char buf[LEAKER_WRITE_MAX];
	unsigned int order = 9;
	struct page *page;
	int ret;

	ret = leaker_copy_cmd(buf, ubuf, len);
	if (ret)
		return ret;

	mutex_lock(&leaker_lock);
	if (sysfs_streq(buf, "free")) {
		if (leaker_decoy)
			__free_pages(leaker_decoy, leaker_decoy_order);
		leaker_decoy = NULL;
		ret = len;
		goto out;
	}
	if (kstrtouint(strim(buf), 0, &order) || order > LEAKER_MAX_ORDER) {
		ret = -EINVAL;
		goto out;
	}
	if (leaker_decoy) {
		ret = -EBUSY;
		goto out;
	}
	page = leaker_decoy_alloc(order);
	if (!page) {
		leaker_alloc_failures++;
		ret = -ENOMEM;
		goto out;
	}
	leaker_decoy = page;
	leaker_decoy_order = order;
	ret = len;
out:
	mutex_unlock(&leaker_lock);
	return ret;
}

static int leaker_status_show(struct seq_file *m, void *v)
{
	int src;

	mutex_lock(&leaker_lock);
	seq_printf(m, "blocks %lu\n", leaker_nr_blocks);
	seq_printf(m, "pages %lu\n", leaker_nr_pages);
	for (src = 0; src < LEAKER_NR_SRC; src++)
		seq_printf(m, "%s %lu\n", leaker_src_names[src],
			   leaker_src_pages[src]);
	seq_printf(m, "leaked_blocks_total %lu\n", leaker_leaked_blocks);
	seq_printf(m, "leaked_pages_total %lu\n", leaker_leaked_pages);
	seq_printf(m, "freed_blocks_total %lu\n", leaker_freed_blocks);
	seq_printf(m, "freed_pages_total %lu\n", leaker_freed_pages);
	seq_printf(m, "alloc_failures %lu\n", leaker_alloc_failures);
	seq_printf(m, "generation %lu\n", leaker_generation);
	seq_printf(m, "steady_pages %u\n", steady_pages);
	seq_printf(m, "steady_ms %u\n", steady_ms);
	seq_printf(m, "steady_runs %lu\n", leaker_steady_runs);
	seq_printf(m, "max_order %u\n", (unsigned int)LEAKER_MAX_ORDER);
	seq_printf(m, "churn_pages %u\n", churn_pages);
	seq_printf(m, "churn_ms %u\n", churn_ms);
	seq_printf(m, "churn_hold_ms %u\n", churn_hold_ms);
	seq_printf(m, "churn_pages_held %lu\n", leaker_churn_held);
	seq_printf(m, "churn_runs %lu\n", leaker_churn_runs);
	seq_printf(m, "decoy_pages %lu\n",
		   leaker_decoy ? 1UL << leaker_decoy_order : 0UL);
	mutex_unlock(&leaker_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(leaker_status);

static const struct file_operations leaker_leak_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= leaker_leak_write,
	.llseek	= noop_llseek,
};

static const struct file_operations leaker_decoy_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= leaker_decoy_write,
	.llseek	= noop_llseek,
};

static const struct file_operations leaker_free_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= leaker_free_write,
	.llseek	= noop_llseek,
};

static int __init leaker_init(void)
{
	struct dentry *d;
	int ret;

	if (leak_order > LEAKER_MAX_ORDER) {
		pr_err("leak_order %u is above %u\n", leak_order,
		       (unsigned int)LEAKER_MAX_ORDER);
		return -EINVAL;
	}

	leaker_dir = debugfs_create_dir("leaker", NULL);
	if (IS_ERR(leaker_dir)) {
		ret = PTR_ERR(leaker_dir);
		goto out;
	}
	d = debugfs_create_file("leak", 0200, leaker_dir, NULL, &leaker_leak_fops);
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		goto out_debugfs;
	}
	d = debugfs_create_file("free", 0200, leaker_dir, NULL, &leaker_free_fops);
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		goto out_debugfs;
	}
	d = debugfs_create_file("decoy", 0200, leaker_dir, NULL, &leaker_decoy_fops);
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		goto out_debugfs;
	}
	d = debugfs_create_file("status", 0444, leaker_dir, NULL, &leaker_status_fops);
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		goto out_debugfs;
	}

	mutex_lock(&leaker_lock);
	ret = leaker_leak_pages(leak_on_load, leak_order, GFP_KERNEL, LEAKER_SRC_LOAD);
	if (ret) {
		pr_err("leak_on_load=%u order %u: allocation failed\n",
		       leak_on_load, leak_order);
		goto out_unlock;
	}
	leaker_ready = true;
	leaker_steady_update();
	leaker_churn_update();
	mutex_unlock(&leaker_lock);

	pr_info("loaded: %lu blocks (%lu pages) held, steady %u pages every %u ms\n",
		leaker_nr_blocks, leaker_nr_pages, steady_pages, steady_ms);
	return 0;

out_unlock:
	leaker_free_blocks(ULONG_MAX);
	mutex_unlock(&leaker_lock);
out_debugfs:
	debugfs_remove_recursive(leaker_dir);
out:
	pr_err("load failed: %d\n", ret);
	return ret;
}

static void __exit leaker_exit(void)
{
	unsigned long blocks, pages;

	/* No new writers once this returns; in-flight ones have finished. */
	debugfs_remove_recursive(leaker_dir);

	mutex_lock(&leaker_lock);
	leaker_ready = false;	/* late parameter writes must not rearm */
	mutex_unlock(&leaker_lock);
	cancel_delayed_work_sync(&leaker_steady_work);
	cancel_delayed_work_sync(&leaker_churn_work);

	mutex_lock(&leaker_lock);
	blocks = leaker_nr_blocks;
	pages = leaker_nr_pages;
	leaker_free_blocks(ULONG_MAX);
	leaker_churn_release();
	if (leaker_decoy)
		__free_pages(leaker_decoy, leaker_decoy_order);
	leaker_decoy = NULL;
	mutex_unlock(&leaker_lock);

	pr_info("unloaded: freed %lu blocks (%lu pages)\n", blocks, pages);
}

module_init(leaker_init);
module_exit(leaker_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Leaks pages on purpose, for page-ownerd's kernel tests");
