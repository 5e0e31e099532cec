"""The joint action plan: organisers keep the plan, activities and groups; villagers follow and monitor it."""
