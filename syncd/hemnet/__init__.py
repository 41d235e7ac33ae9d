"""hemnet"""
